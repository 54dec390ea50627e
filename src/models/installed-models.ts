import fs from 'node:fs';
import path from 'node:path';
import { PullError } from './hub-file-selection';
import { MANIFEST_FILE, PIPELINE_INDEX_FILE } from './model-manifest';
import { checkModelName, SOURCE_FILE, STAGING_DIR, type PullSource } from './model-pull';

/** A model folder in MODELS_DIR, as `darkroom models list` shows it. */
export interface InstalledModel {
  name: string;
  kind: string;
  /** owner/name@revision, or undefined for a folder that was not pulled. */
  source?: string;
  bytes: number;
  dir: string;
}

function folderBytes(dir: string): number {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .reduce(
      (sum, e) =>
        sum + (e.isDirectory() ? folderBytes(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).size),
      0,
    );
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The model folders in `modelsDir` (none when it does not exist yet). */
export function listInstalledModels(modelsDir: string): InstalledModel[] {
  if (!fs.existsSync(modelsDir)) return [];
  return fs
    .readdirSync(modelsDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== STAGING_DIR)
    .map((e) => path.join(modelsDir, e.name))
    .filter((dir) => fs.existsSync(path.join(dir, MANIFEST_FILE)) || fs.existsSync(path.join(dir, PIPELINE_INDEX_FILE)))
    .map((dir) => {
      const manifest = readJson<{ name?: string; kind?: string }>(path.join(dir, MANIFEST_FILE));
      const source = readJson<PullSource>(path.join(dir, SOURCE_FILE));
      return {
        name: manifest?.name ?? path.basename(dir),
        kind: manifest?.kind ?? 'diffusion',
        source: source && `${source.repo}${source.subfolder ? `/${source.subfolder}` : ''}@${source.revision}`,
        bytes: folderBytes(dir),
        dir,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Deletes an installed model's folder, and any unfinished pull of the same name. */
export function removeInstalledModel(modelsDir: string, name: string): string {
  const dir = path.join(modelsDir, checkModelName(name));
  const staging = path.join(modelsDir, STAGING_DIR, name);
  if (!fs.existsSync(dir) && !fs.existsSync(staging)) throw new PullError(`no model ${name} in ${modelsDir}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(staging, { recursive: true, force: true });
  return dir;
}
