import fs from 'node:fs';
import path from 'node:path';
import type { CatalogEntry } from '../../src/models/model-catalog';

const WEIGHTS = /(\.onnx|\.onnx_data|\.onnx\.data|^weights\.pb)$/;
/** A session holds its weights plus buffers and an inference thread: the weights x 1.25 + 16 MB, by default. */
const OVERHEAD_FACTOR = 1.25;
const OVERHEAD_MB = 16;

const sizeOf = (file: string) => (fs.existsSync(file) ? fs.statSync(file).size : 0);

/** Bytes of every weights file under `dir` (a diffusion pipeline's graphs and their external data). */
function weightsUnder(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).reduce((sum, e) => {
    if (!e.isFile() || !WEIGHTS.test(e.name)) return sum;
    return sum + sizeOf(path.join(e.parentPath, e.name));
  }, 0);
}

/** What loading a model costs in MB: its manifest's `memory_mb`, or an estimate from the size of its weights. */
export function modelMemoryMb({ manifest, dir, pipeline }: CatalogEntry): number {
  if (manifest.memory_mb !== undefined) return manifest.memory_mb;
  let bytes = 0;
  if (pipeline) bytes = weightsUnder(pipeline.dir);
  else if ('files' in manifest) {
    const graph = path.resolve(dir, manifest.files.model);
    bytes = [graph, `${graph}_data`, `${graph}.data`].reduce((sum, f) => sum + sizeOf(f), 0);
  }
  return Math.ceil((bytes * OVERHEAD_FACTOR) / 2 ** 20) + OVERHEAD_MB;
}
