import { Worker, type Job } from 'bullmq';
import type { RedisClient } from '../redis/redis-connection';
import { randomUUID } from 'node:crypto';
import { jobOwner } from '../auth/api-keys';
import { releaseJob } from '../jobs/job-admission';
import type { JobPayload } from '../jobs/job-contract';
import { JobFailure } from '../jobs/job-failure';
import type { JobQueues } from '../jobs/job-queues';
import type { Logger } from '../logger';
import type { FleetCatalog } from './fleet-catalog';
import { jobTypesOf, modelQueueName } from './model-queues';

export const MODEL_UNAVAILABLE_CODE = 'model_unavailable';
/** Jobs looked at per queue and round, at most. */
const PEEK = 500;

export interface ModelWaitDeps {
  redis: RedisClient;
  /** A connection BullMQ may block on (no maxRetriesPerRequest), for the taker's worker. */
  takerConnection: RedisClient;
  queues: JobQueues;
  catalog: FleetCatalog;
  /** MODEL_WAIT_SECONDS. */
  waitSeconds: number;
  logger: Logger;
}

/**
 * Fails, as model_unavailable, the jobs that waited MODEL_WAIT_SECONDS for a model that no live
 * worker serves. The API does it, since no worker exists to: it takes the expired jobs as a
 * worker would (BullMQ's getNextJob, without blocking) and fails them, so their owners, event
 * streams and webhooks hear of it like any failure. Jobs taken on the way that have not waited
 * long enough go back to their queue. Several API processes may do this at once: each job is
 * taken by one of them. Returns the number of jobs failed.
 */
export async function failExpiredWaits(deps: ModelWaitDeps): Promise<number> {
  let failed = 0;
  const cutoff = Date.now() - deps.waitSeconds * 1000;
  for (const entry of deps.catalog.offered()) {
    const name = entry.manifest.name;
    if (deps.catalog.presence(name).workers > 0) continue;
    for (const type of jobTypesOf(entry.manifest, entry.pipeline?.hasVaeEncoder)) {
      failed += await failExpiredIn(deps, modelQueueName(type, name), cutoff);
    }
  }
  return failed;
}

async function failExpiredIn(deps: ModelWaitDeps, queueName: string, cutoff: number): Promise<number> {
  const queue = deps.queues.queue(queueName);
  const waiting = (await queue.getJobs(['prioritized', 'waiting'], 0, PEEK - 1)) as Job<JobPayload>[];
  let expired = waiting.filter((j) => j.timestamp <= cutoff).length;
  if (!expired) return 0;
  const taker = new Worker(queueName, null, {
    connection: deps.takerConnection,
    prefix: queue.opts.prefix,
    autorun: false,
  });
  const token = randomUUID();
  const putBack: Job<JobPayload>[] = [];
  let failed = 0;
  try {
    for (let taken = 0; expired > 0 && taken < PEEK; taken++) {
      const job = (await taker.getNextJob(token, { block: false })) as Job<JobPayload> | undefined;
      if (!job) break;
      if (job.timestamp > cutoff) {
        putBack.push(job);
        continue;
      }
      const waited = Math.round((Date.now() - job.timestamp) / 1000);
      await job.moveToFailed(
        new JobFailure(MODEL_UNAVAILABLE_CODE, `no worker served model "${queueName.split('@')[1]}" for ${waited} s`),
        token,
      );
      await releaseJob(deps.redis, queue.opts.prefix ?? '', jobOwner(job.data), String(job.id));
      expired -= 1;
      failed += 1;
    }
  } finally {
    await Promise.all(putBack.map((j) => j.moveToWait(token)));
    await taker.close(true);
  }
  if (failed) deps.logger.warn({ queue: queueName, jobs: failed }, 'jobs failed: no worker served their model in time');
  return failed;
}

/**
 * Runs failExpiredWaits (one round at a time) every 15 s, or every half MODEL_WAIT_SECONDS when
 * that is shorter: a round reads up to PEEK waiting jobs of each orphaned model queue, so it is
 * not run more often than the wait's precision needs. Returns the stop.
 */
export function startModelWaitTimer(deps: ModelWaitDeps): () => void {
  const intervalMs = Math.min(15_000, deps.waitSeconds * 500);
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void failExpiredWaits(deps)
      .catch((err: Error) =>
        deps.logger.debug({ err: err.message }, 'model wait check failed; the next one tries again'),
      )
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
