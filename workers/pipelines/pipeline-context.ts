import type { Job } from 'bullmq';
import type { z } from 'zod';
import type { Config } from '../../src/config';
import type { JobPayload, JobProgress } from '../../src/jobs/job-contract';
import { INVALID_PAYLOAD_CODE, JobFailure } from '../../src/jobs/job-failure';
import type { Logger } from '../../src/logger';
import type { BlobStore } from '../../src/storage/blob-store';
import type { ResultCache } from '../cache/result-cache';
import { AbortedError } from '../runtime/runtime-errors';

/** What running a job on a loaded model needs, whatever the model's kind. */
export interface PipelineContext {
  config: Pick<Config, 'limits' | 'redis'>;
  logger: Logger;
  store: BlobStore;
  cache: ResultCache;
}

/** Cancel checkpoint between units of work. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError();
}

/**
 * The job's payload (or a part of it) re-validated against what this processor takes. One that does
 * not match fails the job at once as `invalid_payload`: every retry would read the same data.
 */
export function readPayload<T>(schema: z.ZodType<T>, data: unknown): T {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`);
  throw new JobFailure(
    INVALID_PAYLOAD_CODE,
    `the job's payload is not one this worker can run: ${problems.join('; ')}`,
  );
}

/**
 * Reports progress as `done` of `total` units; never fails the job if Redis is briefly slow.
 * One write at a time per job: units that finish while a write is in flight are folded into the
 * next write, which carries only the latest value. So every unit is reported when units are slower
 * than a Redis round trip (diffusion steps), and n images finishing together in one batch cost two
 * writes, not n. The promise a unit gets resolves once a value at least as recent as its own is written.
 */
export function progressReporter(job: Job<JobPayload>, total: number, logger: Logger) {
  let done = 0;
  let latest: JobProgress | undefined;
  let writing: Promise<void> | undefined;
  const write = async () => {
    while (latest) {
      const progress = latest;
      latest = undefined;
      await job
        .updateProgress(progress)
        .catch((err) => logger.warn({ jobId: job.id, err: (err as Error).message }, 'progress update failed'));
    }
    writing = undefined;
  };
  return (extra: Partial<JobProgress> = {}): Promise<void> => {
    done += 1;
    latest = { value: Math.min(1, done / total), ...extra };
    return (writing ??= write());
  };
}
