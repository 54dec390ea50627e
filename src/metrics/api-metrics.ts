import type { Request, RequestHandler, Response } from 'express';
import type { RedisClient } from '../redis/redis-connection';
import { AggregatorRegistry, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { JobQueues } from '../jobs/job-queues';
import type { WorkerDirectory } from '../jobs/worker-directory';
import type { Logger } from '../logger';
import { queueCountsReader, registerQueueGauges, registerWorkerGauges } from './api-gauges';
import { readFleetMetrics } from './fleet-metrics';

/**
 * The API's Prometheus metrics: its own HTTP requests, queue sizes and live workers read at scrape
 * time, and the fleet's job and inference metrics the workers keep in Redis (fleet-metrics.ts).
 */
export interface ApiMetrics {
  /** Times every request, labelled with the route pattern (`/v1/jobs/:id`), never the raw URL. */
  middleware: RequestHandler;
  /** GET /metrics in the Prometheus text format. */
  handler: RequestHandler;
}

/** The route a request matched, as declared; unmatched requests share one label so URLs never become labels. */
function routeOf(req: Request, res: Response): string {
  const route = req.route as { path?: unknown } | undefined;
  if (route && typeof route.path === 'string') return `${req.baseUrl}${route.path}`;
  return res.statusCode === 404 ? 'unmatched' : 'other';
}

export function createApiMetrics({
  redis,
  queues,
  workers,
  prefix,
  logger,
}: {
  redis: RedisClient;
  queues: JobQueues;
  workers: WorkerDirectory;
  prefix: string;
  logger: Logger;
}): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // With Redis unreachable a gauge has no samples this scrape; the rest of the scrape still works.
  const unavailable = (err: Error): undefined => void logger.debug({ err: err.message }, 'metric not collected');

  const http = new Histogram({
    name: 'darkroom_http_request_duration_seconds',
    help: 'HTTP requests served by the API, by method, route pattern and status (event streams and `Prefer: wait` holds count until they end).',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  registerQueueGauges(registry, queueCountsReader(queues, unavailable));
  registerWorkerGauges(registry, workers, unavailable);

  const middleware: RequestHandler = (req, res, next) => {
    const stop = http.startTimer();
    res.once('close', () =>
      stop({ method: req.method, route: routeOf(req, res), status_code: String(res.statusCode) }),
    );
    next();
  };

  const handler: RequestHandler = async (_req, res) => {
    const fleet = await readFleetMetrics(redis, prefix).catch((err: Error) => {
      logger.warn({ err: err.message }, 'fleet metrics unavailable');
      return [];
    });
    const own = await registry.metrics();
    const merged = await AggregatorRegistry.aggregate([fleet]).metrics();
    res.set({ 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' }).send(own + merged);
  };

  return { middleware, handler };
}
