import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../../src/redis/redis-connection';
import { ANONYMOUS } from '../../src/auth/api-keys';
import type { Config, JobSettings, RedisSettings, WebhookSettings } from '../../src/config';
import type { Logger } from '../../src/logger';
import { createRedis } from '../../src/redis/redis-connection';
import type { RedisErrorLog } from '../../src/redis/redis-reconnect';
import { checkWebhookUrl, WebhookUrlRefused, type HostLookup } from '../../src/webhooks/webhook-address';
import {
  WEBHOOK_QUEUE,
  webhookAttemptedKey,
  webhookDeliverySchema,
  type WebhookDelivery,
} from '../../src/webhooks/webhook-queue';
import {
  DELIVERY_HEADER,
  EVENT_HEADER,
  ownerWebhookSecret,
  SIGNATURE_HEADER,
  signatureHeader,
} from '../../src/webhooks/webhook-signature';
import { postWebhook } from './webhook-post';

/** What one delivery reads of the config. */
type DeliveryConfig = {
  redis: Pick<RedisSettings, 'prefix'>;
  jobs: Pick<JobSettings, 'retentionSeconds'>;
  webhooks: Pick<WebhookSettings, 'allowedHosts' | 'timeoutMs'>;
};

export interface DeliveryDeps {
  config: DeliveryConfig;
  /** WEBHOOK_SECRET: each delivery is signed with its owner's secret derived from it. */
  secret: string;
  redis: RedisClient;
  lookup?: HostLookup;
}

/** Raises the job's "attempted up to" mark, never lowers it. */
const RAISE_MARK = `local c = tonumber(redis.call('GET', KEYS[1]) or '0')
if c < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 0`;

/**
 * A job's events are first tried in the order they happened, even with many delivery workers: an
 * event waits (at most one receiver timeout) until the one before it has been tried once. Retries
 * are not ordered: a retried event may arrive after a later one.
 */
async function waitForTurn({ config, redis }: DeliveryDeps, d: WebhookDelivery): Promise<void> {
  if (d.seq <= 1) return;
  const key = webhookAttemptedKey(config.redis.prefix, d.job_id);
  const deadline = Date.now() + config.webhooks.timeoutMs;
  for (let pause = 10; Date.now() < deadline; pause = Math.min(pause * 2, 200)) {
    if (Number(await redis.get(key)) >= d.seq - 1) return;
    await new Promise((r) => setTimeout(r, pause));
  }
}

/** Checks the URL again (DNS may have changed), signs with the owner's secret and POSTs once. 2xx ends it; 410 and refused URLs end it as failed; anything else is retried. */
export async function deliverOnce(
  { config, secret, lookup }: DeliveryDeps,
  d: WebhookDelivery,
): Promise<{ status: number }> {
  let target;
  try {
    target = await checkWebhookUrl(d.url, config.webhooks.allowedHosts, lookup);
  } catch (err) {
    if (err instanceof WebhookUrlRefused) throw new UnrecoverableError(`webhook URL not allowed: ${err.message}`);
    throw err; // unresolvable now; perhaps not later
  }
  const status = await postWebhook({
    url: target.url,
    addresses: target.addresses,
    body: d.body,
    headers: {
      'user-agent': 'darkroom-webhooks/1',
      [SIGNATURE_HEADER]: signatureHeader(ownerWebhookSecret(secret, d.owner ?? ANONYMOUS), d.body),
      [EVENT_HEADER]: d.event,
      [DELIVERY_HEADER]: d.delivery_id,
    },
    timeoutMs: config.webhooks.timeoutMs,
  });
  if (status >= 200 && status < 300) return { status };
  if (status === 410) throw new UnrecoverableError('the receiver answered 410 Gone: not retried');
  throw new Error(`the receiver answered ${status}`);
}

/** The delivery processor: in order on the first attempt, then as BullMQ retries it. */
export function createDeliveryProcessor(deps: DeliveryDeps) {
  return async (job: Job<WebhookDelivery>) => {
    const d = webhookDeliverySchema.parse(job.data);
    const first = job.attemptsMade === 0;
    if (first) await waitForTurn(deps, d);
    try {
      return await deliverOnce(deps, d);
    } finally {
      if (first) {
        const key = webhookAttemptedKey(deps.config.redis.prefix, d.job_id);
        await deps.redis.eval(RAISE_MARK, 1, key, d.seq, deps.config.jobs.retentionSeconds).catch(() => undefined);
      }
    }
  };
}

export interface WebhookDeliveryWorker {
  /** Stops taking deliveries; those in flight get up to `graceMs`, then are left to be retried. */
  close(graceMs: number): Promise<void>;
}

/** Consumes the webhooks queue in this worker process; without WEBHOOK_SECRET there is nothing to sign with, so it does not. */
export function startWebhookDelivery(
  config: Pick<Config, 'redis' | 'jobs' | 'webhooks'>,
  redis: RedisClient,
  logger: Logger,
  name: string,
  redisErrors: RedisErrorLog,
): WebhookDeliveryWorker | undefined {
  const secret = config.webhooks.secret;
  if (!secret) {
    // The API refuses webhooks without a secret too, so with one config for both nothing waits here.
    logger.info('not delivering webhooks: WEBHOOK_SECRET is not set (the API needs the same one to accept webhooks)');
    return undefined;
  }
  const connection = redisErrors.watch(createRedis(config.redis.target, 'worker'));
  const worker = new Worker<WebhookDelivery>(WEBHOOK_QUEUE, createDeliveryProcessor({ config, secret, redis }), {
    connection,
    prefix: config.redis.prefix,
    concurrency: config.webhooks.concurrency,
    name,
  });
  worker.on('completed', (job) =>
    logger.debug({ deliveryId: job.id, jobId: job.data.job_id, event: job.data.event }, 'webhook delivered'),
  );
  worker.on('failed', (job, err) => {
    const fields = {
      deliveryId: job?.id,
      jobId: job?.data.job_id,
      event: job?.data.event,
      attempts: job?.attemptsMade,
      reason: err.message,
    };
    if (job?.finishedOn) logger.warn(fields, 'webhook delivery given up');
    else logger.info(fields, 'webhook delivery failed; will retry');
  });
  worker.on('error', (err) => redisErrors.report(err, { queue: WEBHOOK_QUEUE }, 'worker error'));
  return {
    async close(graceMs) {
      let timer: NodeJS.Timeout | undefined;
      const graceful = worker.close().then(
        () => true,
        () => true,
      );
      const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)));
      if (!(await Promise.race([graceful, late]))) await worker.close(true).catch(() => undefined);
      clearTimeout(timer);
      connection.disconnect();
    },
  };
}
