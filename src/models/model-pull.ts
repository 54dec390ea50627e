import fs from 'node:fs';
import path from 'node:path';
import { downloadToPart, fileDigest, listRepoFiles, type HubSettings, type RepoRef } from './hub-client';
import { PullError, selectFiles, type FileSelection, type WantedFile } from './hub-file-selection';
import { loadModelCatalog } from './model-catalog';
import { MANIFEST_FILE, modelManifestSchema, type ModelManifest } from './model-manifest';
import { readGraphSignature } from './onnx-graph-io';
import {
  graphManifest,
  labelsFromConfig,
  type GraphKind,
  type HubModelConfig,
  type PreprocessorConfig,
} from './pulled-manifest';

export interface PullOptions extends RepoRef {
  hub: HubSettings;
  modelsDir: string;
  subfolder?: string;
  /** The model's name in darkroom; default: the repository's name, lower-cased. */
  name?: string;
  /** The graph to take when the folder holds several. */
  file?: string;
  kind?: GraphKind;
  /** Replace an installed model of the same name. */
  force?: boolean;
  onProgress?: (event: PullProgress) => void;
}

export type PullProgress =
  | { type: 'start'; totalBytes: number; files: number }
  | { type: 'bytes'; delta: number; file: string }
  | { type: 'file-done'; file: string; size: number };

/** What the model folder's source.json records: where the files came from. */
export interface PullSource {
  repo: string;
  revision: string;
  commit?: string;
  subfolder?: string;
  endpoint: string;
  files: { path: string; size: number; sha256?: string }[];
}

export const SOURCE_FILE = 'source.json';
export const STAGING_DIR = '.staging';
const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** darkroom's name for a repository: its name, lower-cased, other characters as "-". */
export function defaultModelName(repo: string): string {
  return (repo.split('/').pop() ?? repo)
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64);
}

export function checkModelName(name: string): string {
  if (!MODEL_NAME.test(name))
    throw new PullError(
      `"${name}" is not a model name (lower-case letters, digits, ".", "_", "-"); choose one with --name`,
    );
  return name;
}

const readJson = <T>(file: string): T | undefined =>
  fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as T) : undefined;

/** Downloads (or resumes) every file into the staging folder and checks its size and checksum. */
async function fetchFiles(options: PullOptions, files: WantedFile[], staging: string): Promise<string | undefined> {
  let commit: string | undefined;
  options.onProgress?.({ type: 'start', totalBytes: files.reduce((s, f) => s + f.size, 0), files: files.length });
  for (const file of files) {
    const target = path.join(staging, file.localPath);
    const part = `${target}.part`;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (
      fs.existsSync(target) &&
      fs.statSync(target).size === file.size &&
      (await fileDigest(target, file.digest.algorithm)) === file.digest.hex
    ) {
      options.onProgress?.({ type: 'bytes', delta: file.size, file: file.repoPath });
      continue;
    }
    const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
    options.onProgress?.({ type: 'bytes', delta: Math.min(have, file.size), file: file.repoPath });
    const result = await downloadToPart(options.hub, options, file, part, (delta) =>
      options.onProgress?.({ type: 'bytes', delta, file: file.repoPath }),
    );
    commit ??= result.commit;
    const size = fs.statSync(part).size;
    const digest = await fileDigest(part, file.digest.algorithm);
    if (size !== file.size || digest !== file.digest.hex) {
      fs.rmSync(part, { force: true });
      fs.rmSync(`${part}.etag`, { force: true });
      const expected = file.digest.algorithm === 'sha256' ? 'SHA-256' : 'git SHA-1';
      throw new PullError(
        `${file.repoPath}: ${size !== file.size ? `${size} bytes, the Hub lists ${file.size}` : `${expected} ${digest}, the Hub lists ${file.digest.hex}`}; refused, nothing installed (the bad download was deleted)`,
      );
    }
    fs.renameSync(part, target);
    fs.rmSync(`${part}.etag`, { force: true });
    options.onProgress?.({ type: 'file-done', file: file.repoPath, size });
  }
  return commit;
}

/** The manifest for what was downloaded: a pipeline's from its name, a graph's from the graph and the Hub configs. */
function writeManifest(
  options: PullOptions,
  selection: FileSelection,
  staging: string,
  name: string,
  description: string,
): ModelManifest {
  let json: unknown;
  if (selection.layout === 'pipeline') {
    json = { name, kind: 'diffusion', description };
  } else {
    const config = readJson<HubModelConfig>(path.join(staging, 'config.json'));
    const labels = labelsFromConfig(config);
    if (labels) fs.writeFileSync(path.join(staging, 'labels.txt'), `${labels.join('\n')}\n`);
    const labelsFile = ['synset.txt', 'labels.txt'].find((f) => fs.existsSync(path.join(staging, f)));
    json = graphManifest({
      name,
      description,
      graphFile: selection.graph!,
      signature: readGraphSignature(path.join(staging, selection.graph!)),
      kind: options.kind,
      preprocessor: readJson<PreprocessorConfig>(path.join(staging, 'preprocessor_config.json')),
      config,
      labelsFile: labelsFile
        ? { file: labelsFile, format: labelsFile === 'synset.txt' ? 'synset' : 'lines' }
        : undefined,
    });
  }
  const manifest = modelManifestSchema.parse(json);
  fs.writeFileSync(path.join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * `darkroom models pull`: downloads what a model needs from the Hub into MODELS_DIR/.staging/<name>
 * (kept between runs, so an interrupted pull resumes), verifies every file, writes the manifest,
 * checks the folder loads as the server would load it, and only then renames it into place.
 */
export async function pullModel(
  options: PullOptions,
): Promise<{ name: string; dir: string; manifest: ModelManifest; source: PullSource }> {
  if (!/^[\w.-]+\/[\w.-]+$/.test(options.repo))
    throw new PullError(`"${options.repo}" is not a repository id (owner/name)`);
  const name = checkModelName(options.name ?? defaultModelName(options.repo));
  const dir = path.join(options.modelsDir, name);
  if (fs.existsSync(dir) && !options.force)
    throw new PullError(
      `${name} is already installed in ${options.modelsDir}; remove it first, or pass --force to replace it`,
    );
  const selection = selectFiles(await listRepoFiles(options.hub, options), {
    subfolder: options.subfolder,
    file: options.file,
    repo: options.repo,
  });
  const staging = path.join(options.modelsDir, STAGING_DIR, name);
  const pending: Omit<PullSource, 'commit'> = {
    repo: options.repo,
    revision: options.revision,
    subfolder: options.subfolder,
    endpoint: options.hub.endpoint,
    files: selection.files.map((f) => ({
      path: f.repoPath,
      size: f.size,
      ...(f.digest.algorithm === 'sha256' ? { sha256: f.digest.hex } : {}),
    })),
  };
  // Partial files of another repository or revision are no use: start over.
  const previous = readJson<Omit<PullSource, 'commit'>>(path.join(staging, '.pull.json'));
  if (previous && JSON.stringify(previous) !== JSON.stringify(pending))
    fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  fs.writeFileSync(path.join(staging, '.pull.json'), JSON.stringify(pending));
  const commit = await fetchFiles(options, selection.files, staging);
  const source: PullSource = { ...pending, commit };
  const description = `${options.repo}${options.subfolder ? `/${options.subfolder}` : ''} at ${options.revision}${commit ? ` (${commit.slice(0, 12)})` : ''}, pulled from ${options.hub.endpoint}`;
  const manifest = writeManifest(options, selection, staging, name, description);
  fs.writeFileSync(path.join(staging, SOURCE_FILE), `${JSON.stringify(source, null, 2)}\n`);
  fs.rmSync(path.join(staging, '.pull.json'));
  loadModelCatalog([staging]); // throws with every problem the server would report
  const old = `${staging}.old`;
  if (fs.existsSync(dir)) fs.renameSync(dir, old);
  fs.renameSync(staging, dir);
  fs.rmSync(old, { recursive: true, force: true });
  return { name, dir, manifest, source };
}
