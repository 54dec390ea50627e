import type { Worker } from 'bullmq';
import type { RedisClient } from '../../src/redis/redis-connection';
import type { RedisSettings } from '../../src/config';
import { subscribeToCancels } from '../../src/jobs/job-cancellation';
import { CANCELED_CODE } from '../../src/jobs/job-failure';
import type { Logger } from '../../src/logger';
import { createRedis } from '../../src/redis/redis-connection';
import type { RedisErrorLog } from '../../src/redis/redis-reconnect';
import type { Component } from './component';

/**
 * Cancels a running job when the API asks, on a connection of its own (a subscribed connection
 * can do nothing else). It must outlive the queue workers' drain, so cancels reach jobs still
 * finishing: it belongs before them in the list.
 */
export function cancelSubscriber(
  settings: RedisSettings,
  logger: Logger,
  redisErrors: RedisErrorLog,
  workers: () => Worker[],
): Component {
  let subscriber: RedisClient | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;
  return {
    name: 'cancel subscriber',
    async start() {
      const connection = (subscriber = redisErrors.watch(createRedis(settings.target, 'subscriber')));
      unsubscribe = await subscribeToCancels(connection, settings.prefix, (jobId) => {
        for (const w of workers())
          if (w.cancelJob(jobId, CANCELED_CODE)) logger.info({ jobId }, 'canceling running job');
      }).catch((err) => {
        connection.disconnect(); // a component that fails to start is not stopped
        throw err;
      });
    },
    async stop() {
      // The connection is dropped next either way; UNSUBSCRIBE only makes that tidy.
      await unsubscribe?.().catch((err: Error) =>
        logger.debug({ err: err.message }, 'could not unsubscribe from cancels'),
      );
      subscriber?.disconnect();
    },
  };
}
