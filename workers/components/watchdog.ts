import type { Worker } from 'bullmq';
import type { RedisClient } from '../../src/redis/redis-connection';
import type { WorkerSettings } from '../../src/config';
import { blockingConnectionStatus, waitingCount } from '../../src/jobs/bullmq-internals';
import type { Logger } from '../../src/logger';
import { createQueueWatchdog, type WatchedWorker } from '../queue-watchdog';
import type { Component, Resource } from './component';
import type { QueueWorkers } from './queue-workers';

/** Watches the queue workers and replaces one that is stuck (see createQueueWatchdog); off when WORKER_WATCHDOG_MS is 0. */
export function queueWatchdog(
  settings: WorkerSettings,
  logger: Logger,
  redis: Resource<RedisClient>,
  workers: QueueWorkers,
): Component {
  const watched = (queue: string, worker: Worker): WatchedWorker => ({
    queue,
    isRunning: () => worker.isRunning(),
    blockingStatus: () => blockingConnectionStatus(worker),
    held: () => workers.held().count(worker),
    concurrency: settings.concurrency,
    lastTakenAt: () => workers.held().lastTakenAt(worker),
  });
  const watchdog = createQueueWatchdog({
    stuckAfterMs: settings.watchdogMs,
    intervalMs: Math.min(5000, Math.max(250, Math.floor(settings.watchdogMs / 4))),
    // A queue worker paused on purpose (a cold model left to warm workers) is not stuck.
    workers: () =>
      workers
        .current()
        .filter(({ worker }) => !worker.isPaused())
        .map(({ queue, worker }) => watched(queue, worker)),
    redisReady: () => redis.value.status === 'ready',
    waiting: async (queue) => {
      const entry = workers.current().find((c) => c.queue === queue);
      return entry ? waitingCount(redis.value, entry.worker) : 0;
    },
    recreate: async (queue) => workers.replace(queue),
    logger,
  });
  return {
    name: 'queue watchdog',
    async start() {
      if (settings.watchdogMs > 0) watchdog.start();
    },
    async stop() {
      watchdog.stop();
    },
  };
}
