import type { Job, JobState, Queue, Worker } from 'bullmq';
import type { RedisClient } from '../../src/redis/redis-connection';
import { jobOwner } from '../../src/auth/api-keys';
import type { Config } from '../../src/config';
import type { JobPayload, WebhookEvent } from '../../src/jobs/job-contract';
import { statusOf, viewJob } from '../../src/jobs/job-view';
import type { Logger } from '../../src/logger';
import {
  createWebhookQueue,
  newDeliveryId,
  webhookSeqKey,
  type WebhookDelivery,
} from '../../src/webhooks/webhook-queue';

/** Progress deliveries per job are at most this often. */
export const PROGRESS_INTERVAL_MS = 1000;

/** Turns this process's job state changes into webhook deliveries. */
export interface JobWebhooks {
  /** Listens to a BullMQ worker's events (call again for a worker that replaces one). */
  watch(worker: Worker): void;
  close(): Promise<void>;
}

type Deps = {
  config: Pick<Config, 'redis' | 'jobs' | 'webhooks'>;
  redis: RedisClient;
  logger: Logger;
  queue?: Queue<WebhookDelivery>;
};

/** Queues one delivery once its sequence number (taken by `seq`) is known. */
async function enqueueDelivery(
  queue: Queue<WebhookDelivery>,
  seq: Promise<[Error | null, unknown][] | null>,
  delivery: Omit<WebhookDelivery, 'delivery_id' | 'seq'>,
): Promise<void> {
  const n = Number((await seq)?.[0]?.[1]);
  if (!Number.isInteger(n)) throw new Error('no sequence number');
  const full: WebhookDelivery = { delivery_id: newDeliveryId(), ...delivery, seq: n };
  await queue.add(delivery.event, full, { jobId: full.delivery_id });
}

/**
 * The process running a job knows when it starts, progresses and ends, so it enqueues the events
 * its webhook asked for. The body is the job's public view at that moment, built from the BullMQ
 * record the event carries. Enqueueing never blocks or fails the job: a lost event is logged.
 */
export function createJobWebhooks({
  config,
  redis,
  logger,
  queue = createWebhookQueue(redis, config),
}: Deps): JobWebhooks {
  const lastProgress = new Map<string, number>();
  const prefix = config.redis.prefix;

  const send = (job: Job<JobPayload>, state: JobState, event: WebhookEvent) => {
    const data = job.data;
    const webhook = data.type === 'batch' ? undefined : data.webhook;
    if (!webhook?.events.includes(event)) return;
    const jobId = String(job.id);
    let body: string;
    try {
      body = JSON.stringify(viewJob(job, state, false));
    } catch (err) {
      logger.warn(
        { jobId, event, err: (err as Error).message },
        'webhook event dropped: the job view could not be built',
      );
      return;
    }
    // The sequence number is taken at once, before any await, so events are numbered in the order they happened.
    const seqKey = webhookSeqKey(prefix, jobId);
    const seq = redis.multi().incr(seqKey).expire(seqKey, config.jobs.retentionSeconds).exec();
    const delivery = { job_id: jobId, owner: jobOwner(data), event, url: webhook.url, body };
    enqueueDelivery(queue, seq, delivery).catch((err: Error) =>
      logger.warn({ jobId, event, err: err.message }, 'webhook event could not be queued'),
    );
  };

  return {
    watch(worker) {
      worker.on('active', (job: Job<JobPayload>) => send(job, 'active', 'running'));
      worker.on('progress', (job: Job<JobPayload>) => {
        const id = String(job.id);
        const now = Date.now();
        if (now - (lastProgress.get(id) ?? 0) < PROGRESS_INTERVAL_MS) return;
        if (lastProgress.size > 10_000) lastProgress.clear(); // entries of jobs that never ended here
        lastProgress.set(id, now);
        send(job, 'active', 'progress');
      });
      worker.on('completed', (job: Job<JobPayload>) => {
        lastProgress.delete(String(job.id));
        send(job, 'completed', 'succeeded');
      });
      worker.on('failed', (job: Job<JobPayload> | undefined) => {
        // Only a failure for good: an attempt that will be retried is not an event.
        if (!job?.finishedOn) return;
        lastProgress.delete(String(job.id));
        send(job, 'failed', statusOf('failed', job.failedReason, false) === 'canceled' ? 'canceled' : 'failed');
      });
    },
    async close() {
      await queue.close();
    },
  };
}
