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

/** At most one progress write per this long, except when a unit crosses a tenth of the job, or is the last. */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * Reports progress as `done` of `total` units; never fails the job if Redis is briefly slow.
 * Each write is a Redis round trip, so units are coalesced: a unit is written when it is the last
 * one, when it crosses a tenth of the job, or when PROGRESS_INTERVAL_MS has passed since the last
 * write; the others wait for a timer and fold into the next write, which carries only the latest
 * value. One write is in flight at a time per job. So a fast job costs about ten writes (none
 * when it has a single unit), never one per image, while slow units (diffusion steps on a big
 * image) are each reported. Step progress (`step` set: units that come one at a time) keeps each
 * tenth it crosses even while a write is slow, so a client sees at least ten steps of any job of
 * ten or more; images that finish together fold into one write. The promise of a unit that is
 * written resolves once its value (or a later one) is; a deferred unit's resolves at once. The
 * last unit's waits for the last write, so progress never lands after the result. Once `signal`
 * aborts (the job is canceled, or its processor has ended: see `guarded` in worker-process.ts),
 * deferred values are dropped and later units write nothing, so no progress lands after a failure
 * or a cancel either (a write already sent goes first: it is on the connection that ends the job).
 */
export function progressReporter(job: Job<JobPayload>, total: number, logger: Logger, signal?: AbortSignal) {
  // A job of one unit has nothing to show between its start and its end, which the job's completion
  // (written next) says: its one write would be a Redis round trip per job for nothing.
  if (total <= 1) return (_extra?: Partial<JobProgress>): Promise<void> => Promise.resolve();
  let done = 0;
  /** Values to write, oldest first; only the last may be one a later value replaces. */
  const pending: { progress: JobProgress; keep: boolean }[] = [];
  let writing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastWriteAt = Date.now();
  let lastTenth = 0;
  signal?.addEventListener(
    'abort',
    () => {
      clearTimeout(timer);
      pending.length = 0;
    },
    { once: true },
  );
  const write = async () => {
    for (let next = pending.shift(); next; next = pending.shift()) {
      lastWriteAt = Date.now();
      await job
        .updateProgress(next.progress)
        .catch((err) => logger.warn({ jobId: job.id, err: (err as Error).message }, 'progress update failed'));
    }
    writing = undefined;
  };
  const flush = (): Promise<void> => {
    clearTimeout(timer);
    timer = undefined;
    return (writing ??= write());
  };
  return (extra: Partial<JobProgress> = {}): Promise<void> => {
    if (signal?.aborted) return Promise.resolve();
    done += 1;
    const progress = { value: Math.min(1, done / total), ...extra };
    const tenth = Math.floor((10 * done) / total);
    const crossed = tenth > lastTenth;
    lastTenth = tenth;
    if (pending.length && !pending[pending.length - 1].keep) pending.pop();
    pending.push({ progress, keep: crossed && extra.step !== undefined });
    if (done >= total || crossed || Date.now() - lastWriteAt >= PROGRESS_INTERVAL_MS) return flush();
    timer ??= setTimeout(() => void flush(), PROGRESS_INTERVAL_MS - (Date.now() - lastWriteAt)).unref();
    return Promise.resolve();
  };
}
