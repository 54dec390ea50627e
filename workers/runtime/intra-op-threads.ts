import os from 'node:os';

/**
 * Threads per inference when ORT_INTRA_OP_THREADS is 0: half the cores, at least one. onnxruntime's
 * own default (every physical core for each session) oversubscribes a worker, whose main thread,
 * sharp's encoders and the threads of other models run at the same time. On the 2-core development
 * VM one thread per session made 27-105% more images per second end to end than two
 * (docs/benchmarks.md against docs/benchmarks-worker-threads-2.md, `npm run bench -- --worker-threads 2`).
 */
export function defaultIntraOpThreads(cores = os.availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}
