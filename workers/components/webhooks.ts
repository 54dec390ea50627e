import type { RedisClient } from '../../src/redis/redis-connection';
import type { Config } from '../../src/config';
import type { Logger } from '../../src/logger';
import type { RedisErrorLog } from '../../src/redis/redis-reconnect';
import { createWebhookQueue, WEBHOOK_QUEUE } from '../../src/webhooks/webhook-queue';
import { createJobWebhooks, type JobWebhooks } from '../webhooks/job-webhooks';
import { startWebhookDelivery, type WebhookDeliveryWorker } from '../webhooks/webhook-delivery';
import type { Resource } from './component';

export interface WebhooksDeps {
  config: Pick<Config, 'redis' | 'jobs' | 'webhooks' | 'worker'>;
  logger: Logger;
  /** This process's worker id: the name of its delivery worker. */
  id: string;
  redis: Resource<RedisClient>;
  redisErrors: RedisErrorLog;
}

/**
 * Job state changes become webhook deliveries (`value` watches the queue workers), and this process
 * delivers them when WORKER_QUEUES lists the webhooks queue. Stopped after the queue workers have
 * drained: the events of the jobs that just ended are queued by then, and deliveries in flight get
 * the grace period too.
 */
export function webhooks({ config, logger, id, redis, redisErrors }: WebhooksDeps): Resource<JobWebhooks> {
  let jobWebhooks: JobWebhooks | undefined;
  let delivery: WebhookDeliveryWorker | undefined;
  return {
    name: 'webhooks',
    get value() {
      if (!jobWebhooks) throw new Error('webhooks are used before they started (check the order of the components)');
      return jobWebhooks;
    },
    async start() {
      const queue = createWebhookQueue(redis.value, config);
      queue.on('error', (err) => redisErrors.report(err, { queue: queue.name }, 'queue error'));
      jobWebhooks = createJobWebhooks({ config, redis: redis.value, logger, queue });
      if (config.worker.queues.includes(WEBHOOK_QUEUE))
        delivery = startWebhookDelivery(config, redis.value, logger, id, redisErrors);
    },
    async stop() {
      await Promise.all([
        delivery?.close(config.jobs.shutdownGraceMs),
        // Closing only ends the queue's use of the shared connection, which is disconnected later anyway.
        jobWebhooks
          ?.close()
          .catch((err: Error) => logger.debug({ err: err.message }, 'the webhook queue closed with an error')),
      ]);
    },
  };
}
