import type { Processor } from '../processors/processor-context';
import type { ModelPool } from './model-pool';

/**
 * Holds the job's model for the length of the job: loaded first (within the memory budget), never
 * unloaded under it. A job whose model this worker does not serve (one queued by type by an older
 * API) runs as before: the processor fails it as retryable model_unavailable, for another worker.
 */
export function holdingModel(pool: ModelPool, processor: Processor): Processor {
  return async (job, token, signal) => {
    const model = 'params' in job.data ? job.data.params.model : undefined;
    if (!model || !pool.served().some((e) => e.manifest.name === model)) return processor(job, token, signal);
    await pool.acquire(model);
    try {
      return await processor(job, token, signal);
    } finally {
      pool.release(model);
    }
  };
}
