import type { Job } from 'bullmq';
import type { RedisClient } from '../../src/redis/redis-connection';
import type { z } from 'zod';
import type { Config } from '../../src/config';
import type { JobPayload, JobProgress } from '../../src/jobs/job-contract';
import type { Logger } from '../../src/logger';
import type { BlobStore } from '../../src/storage/blob-store';
import { INVALID_PAYLOAD_CODE, JobFailure, RetryableJobFailure } from '../../src/jobs/job-failure';
import type { ResultCache } from '../cache/result-cache';
import type { LoadedModel, ModelRegistry } from '../model-registry';
import { AbortedError } from '../runtime/runtime-errors';

/** Cancel checkpoint between units of work. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError();
}

/** What every processor needs. */
export interface ProcessorContext {
  config: Config;
  logger: Logger;
  redis: RedisClient;
  store: BlobStore;
  registry: ModelRegistry;
  cache: ResultCache;
}

/** BullMQ's processor shape: the signal aborts when the job is canceled. */
export type Processor = (job: Job<JobPayload>, token: string | undefined, signal?: AbortSignal) => Promise<unknown>;

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

/** The loaded model a job asks for, of the kind it needs. */
export function requireModel<K extends LoadedModel['kind']>(
  registry: ModelRegistry,
  name: string,
  kind: K,
): Extract<LoadedModel, { kind: K }> {
  const model = registry.get(name);
  // Another worker may serve it: let BullMQ retry elsewhere rather than fail for good.
  if (!model) throw new RetryableJobFailure('model_unavailable', `this worker has no model "${name}"`);
  if (model.kind !== kind)
    throw new JobFailure('wrong_model_kind', `model "${name}" is a ${model.kind}, not a ${kind}`);
  return model as Extract<LoadedModel, { kind: K }>;
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
