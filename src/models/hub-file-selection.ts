import path from 'node:path';
import { PIPELINE_FILES } from './kinds/pipeline-folder';
import { PIPELINE_INDEX_FILE } from './model-manifest';

/** A file of a Hub repository as its tree listing describes it. */
export interface RepoFile {
  path: string;
  size: number;
  /** Git blob SHA-1 (of the LFS pointer for an LFS file). */
  oid?: string;
  /** The stored file's SHA-256 and size, for LFS files. */
  lfs?: { oid: string; size: number };
}

/** A file to download: where it goes in the model folder and what it must hash to. */
export interface WantedFile {
  repoPath: string;
  localPath: string;
  size: number;
  /** SHA-256 (LFS oid) or, for small files kept in git itself, the git blob SHA-1. */
  digest: { algorithm: 'sha256' | 'git-sha1'; hex: string };
}

export interface FileSelection {
  layout: 'pipeline' | 'graph';
  files: WantedFile[];
  /** For `graph`: the graph's local path. */
  graph?: string;
}

/** The request could not be served from what the repository holds (the message says what to change). */
export class PullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PullError';
  }
}

const PIPELINE_FOLDERS = new Set(['text_encoder', 'unet', 'vae_decoder', 'vae_encoder', 'tokenizer', 'scheduler']);
/** Configs, tokenizer files, graphs and their external weights; PyTorch/safetensors weights stay on the Hub. */
const PIPELINE_FILE = /(\.json|\.txt|\.onnx|\.onnx_data|\.onnx\.data|^weights\.pb)$/;
/** Metadata of a single-graph model, looked up beside the graph and then in the folders above it. */
const GRAPH_METADATA = ['config.json', 'preprocessor_config.json'];
const LABEL_FILES = ['labels.txt', 'synset.txt'];

function wanted(file: RepoFile, localPath: string): WantedFile {
  const digest = file.lfs
    ? { algorithm: 'sha256' as const, hex: file.lfs.oid }
    : { algorithm: 'git-sha1' as const, hex: file.oid ?? '' };
  if (!digest.hex)
    throw new PullError(`the Hub's listing gives no checksum for ${file.path}; refusing to download it unverified`);
  return { repoPath: file.path, localPath, size: file.lfs?.size ?? file.size, digest };
}

/**
 * What `models pull` fetches: for an optimum pipeline (model_index.json) its component folders'
 * configs, tokenizer, graphs and external weights; for a single graph, the graph, its external
 * data, labels and the Hub configs that describe its preprocessing.
 */
export function selectFiles(
  files: RepoFile[],
  options: { subfolder?: string; file?: string; repo: string },
): FileSelection {
  const prefix = options.subfolder ? `${options.subfolder.replace(/^\/+|\/+$/g, '')}/` : '';
  const inFolder = new Map(files.filter((f) => f.path.startsWith(prefix)).map((f) => [f.path.slice(prefix.length), f]));
  const where = `${options.repo}${prefix ? `/${prefix.slice(0, -1)}` : ''}`;
  if (inFolder.has(PIPELINE_INDEX_FILE)) {
    const chosen = [...inFolder].filter(
      ([rel]) =>
        rel === PIPELINE_INDEX_FILE ||
        (rel.split('/').length === 2 &&
          PIPELINE_FOLDERS.has(rel.split('/')[0]) &&
          PIPELINE_FILE.test(path.posix.basename(rel))),
    );
    const missing = PIPELINE_FILES.filter((f) => !inFolder.has(f));
    if (missing.length)
      throw new PullError(
        `${where} has model_index.json but lacks ${missing.join(', ')} (an ONNX export in the optimum layout is needed)`,
      );
    return { layout: 'pipeline', files: chosen.map(([rel, f]) => wanted(f, rel)) };
  }
  const graphs = [...inFolder.keys()].filter((rel) => !rel.includes('/') && rel.endsWith('.onnx'));
  const graph = options.file ?? (graphs.length === 1 ? graphs[0] : graphs.find((g) => g === 'model.onnx'));
  if (!graph || !inFolder.has(graph)) {
    if (graphs.length > 1)
      throw new PullError(`${where} holds several graphs (${graphs.join(', ')}); choose one with --file`);
    const folders = [
      ...new Set(
        files
          .filter((f) => f.path.endsWith('.onnx') || f.path.endsWith(PIPELINE_INDEX_FILE))
          .map((f) => path.posix.dirname(f.path)),
      ),
    ];
    const hint = folders.length ? `; folders that have one: ${folders.join(', ')} (choose with --subfolder)` : '';
    throw new PullError(
      `${where} has ${options.file ? `no ${options.file}` : 'no model_index.json and no .onnx graph'}${hint}`,
    );
  }
  const external = [...inFolder.keys()].filter((rel) => [`${graph}_data`, `${graph}.data`, 'weights.pb'].includes(rel));
  const labels = LABEL_FILES.filter((rel) => inFolder.has(rel));
  const chosen = [graph, ...external, ...labels].map((rel) => wanted(inFolder.get(rel)!, rel));
  // transformers.js layout: the graph in onnx/, config.json and preprocessor_config.json at the root.
  for (const name of GRAPH_METADATA) {
    const segments = prefix.split('/').filter(Boolean);
    for (let depth = segments.length; depth >= 0; depth--) {
      const candidate = [...segments.slice(0, depth), name].join('/');
      const found = files.find((f) => f.path === candidate);
      if (found) {
        chosen.push(wanted(found, name));
        break;
      }
    }
  }
  return { layout: 'graph', files: chosen, graph };
}
