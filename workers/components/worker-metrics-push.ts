import type { RedisClient } from '../../src/redis/redis-connection';
import type { RedisSettings, WorkerSettings } from '../../src/config';
import type { Logger } from '../../src/logger';
import { startWorkerMetrics, type WorkerMetrics } from '../worker-metrics';
import { atStop, interval, resource, type Component, type Resource } from './component';

/** Measuring, and the worker's own /metrics when WORKER_METRICS_PORT is set (start it before the models load, so a busy port fails the start at once). */
export function workerMetrics(worker: WorkerSettings, logger: Logger): Resource<WorkerMetrics> {
  return resource(
    'metrics',
    () => startWorkerMetrics(logger, { port: worker.metricsPort, host: worker.metricsHost }),
    (metrics) => metrics.close(),
  );
}

/**
 * Metrics reach the API's /metrics through Redis; what a flush cannot push is kept for the next.
 * Two components: `timer` pushes every 2 s while the process takes work; `last` pushes once more
 * after it has drained, so it belongs before the queue workers in the list.
 */
export function metricsPush(
  settings: RedisSettings,
  logger: Logger,
  metrics: Resource<WorkerMetrics>,
  redis: Resource<RedisClient>,
): { timer: Component; last: Component } {
  const flush = () =>
    metrics.value
      .flush(redis.value, settings.prefix)
      .catch((err: Error) => logger.debug({ err: err.message }, 'metrics flush failed'));
  return {
    timer: interval('metrics push', 2000, () => void flush()),
    last: atStop('last metrics push', flush),
  };
}
