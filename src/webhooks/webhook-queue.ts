import { Queue, type JobsOptions } from 'bullmq';
import type { RedisClient } from '../redis/redis-connection';
import { z } from 'zod';
import type { JobSettings, RedisSettings, WebhookSettings } from '../config';
import { uuidv7, webhookEventSchema } from '../jobs/job-contract';

/**
 * Webhook deliveries: an internal BullMQ queue (not a public job type) that worker processes fill
 * when their jobs change state and consume to POST the events, with retries and backoff.
 */
export const WEBHOOK_QUEUE = 'webhooks';

/** One event of one job, to be POSTed to one URL. Retried deliveries send the same body and id. */
export const webhookDeliverySchema = z.object({
  delivery_id: z.string(),
  job_id: z.string(),
  /** The job's owner, whose secret signs the delivery; absent in deliveries queued before secrets were per key (signed as ANONYMOUS's, so no key's receiver accepts them). */
  owner: z.string().optional(),
  event: webhookEventSchema,
  url: z.string(),
  /** The job view, serialized once so every attempt signs and sends the same bytes. */
  body: z.string(),
  /** Position among this job's events: first attempts are made in this order. */
  seq: z.number().int().min(1),
});
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

type DeliveryConfig = {
  webhooks: Pick<WebhookSettings, 'attempts' | 'backoffMs'>;
  jobs: Pick<JobSettings, 'retentionSeconds'>;
};

/** Retries with exponential backoff (WEBHOOK_BACKOFF_MS, then twice that, ...); kept as long as jobs are. */
export function webhookJobOptions(config: DeliveryConfig): JobsOptions {
  return {
    attempts: config.webhooks.attempts,
    backoff: { type: 'exponential', delay: config.webhooks.backoffMs },
    removeOnComplete: { age: config.jobs.retentionSeconds },
    removeOnFail: { age: config.jobs.retentionSeconds },
  };
}

/** A new delivery id: `whd_` and a UUIDv7 (sortable by creation time). */
export const newDeliveryId = () => `whd_${uuidv7()}`;

/** The producer side of the webhooks queue. */
export function createWebhookQueue(
  connection: RedisClient,
  config: DeliveryConfig & { redis: Pick<RedisSettings, 'prefix'> },
): Queue<WebhookDelivery> {
  return new Queue<WebhookDelivery>(WEBHOOK_QUEUE, {
    connection,
    prefix: config.redis.prefix,
    defaultJobOptions: webhookJobOptions(config),
  });
}

/** Redis keys that order a job's deliveries: the last sequence number given out, and the last one attempted. */
export const webhookSeqKey = (prefix: string, jobId: string) => `${prefix}:webhook:seq:${jobId}`;
export const webhookAttemptedKey = (prefix: string, jobId: string) => `${prefix}:webhook:attempted:${jobId}`;
