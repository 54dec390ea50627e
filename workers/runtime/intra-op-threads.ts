import os from 'node:os';

/**
 * Threads per inference when ORT_INTRA_OP_THREADS is 0: half the cores, at least one. onnxruntime's
 * own default (every physical core for each session) oversubscribes a worker, whose main thread,
 * sharp's encoders and the threads of other models run at the same time; on the 2-core development
 * VM one thread per session gave 11-50% more images per second end to end (`npm run bench -- --worker-threads 2` against the default).
 */
export function defaultIntraOpThreads(cores = os.availableParallelism()): number {
  return Math.max(1, Math.floor(cores / 2));
}
