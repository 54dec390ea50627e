import type { Request, RequestHandler, Response } from 'express';
import type { RedisClient } from '../redis/redis-connection';
import { AggregatorRegistry, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { parseModelQueue } from '../fleet/model-queues';
import { QUEUE_NAMES } from '../jobs/job-contract';
import type { JobQueues } from '../jobs/job-queues';
import { providerOf, type WorkerDirectory } from '../jobs/worker-directory';
import type { Logger } from '../logger';
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

const JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'waiting-children', 'completed', 'failed'] as const;

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

  // One read of every queue's counts per scrape, shared by the two gauges below.
  let countsRead:
    { at: number; counts: Promise<{ name: string; counts: Record<string, number> }[] | undefined> } | undefined;
  const queueCounts = () => {
    if (!countsRead || Date.now() - countsRead.at > 500) {
      const known = queues.known();
      const counts = Promise.all(known.map((q) => q.getJobCounts(...JOB_STATES)))
        .then((all) => all.map((c, i) => ({ name: known[i].name, counts: c })))
        .catch(unavailable);
      countsRead = { at: Date.now(), counts };
    }
    return countsRead.counts;
  };

  new Gauge({
    name: 'darkroom_jobs',
    help: 'Jobs of each job type (all its model queues together) and BullMQ state, read at scrape time (completed and failed: those still retained).',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      const read = await queueCounts();
      if (!read) return;
      for (const queue of QUEUE_NAMES) for (const state of JOB_STATES) this.set({ queue, state }, 0);
      // A type's jobs are in its own queue (batches, jobs of older APIs) and in its models' queues.
      for (const { name, counts } of read) {
        const queue = parseModelQueue(name)?.type ?? name;
        for (const state of JOB_STATES) this.inc({ queue, state }, counts[state] ?? 0);
      }
    },
  });

  new Gauge({
    name: 'darkroom_model_jobs',
    help: 'Jobs in each model queue by BullMQ state, read at scrape time: the per-model queue depth.',
    labelNames: ['job_type', 'model', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { name, counts } of (await queueCounts()) ?? []) {
        const routed = parseModelQueue(name);
        if (routed)
          for (const state of JOB_STATES)
            this.set({ job_type: routed.type, model: routed.model, state }, counts[state] ?? 0);
      }
    },
  });

  new Gauge({
    name: 'darkroom_workers',
    help: 'Live worker processes (by heartbeat), by the execution provider their models run on.',
    labelNames: ['provider'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const worker of (await workers.list().catch(unavailable)) ?? []) this.inc({ provider: providerOf(worker) });
    },
  });

  new Gauge({
    name: 'darkroom_models_resident',
    help: 'Live workers holding each model in memory now (by heartbeat).',
    labelNames: ['model'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const worker of (await workers.list().catch(unavailable)) ?? [])
        for (const model of worker.loaded ?? []) this.inc({ model });
    },
  });

  new Gauge({
    name: 'darkroom_worker_model_memory_mb',
    help: 'MB of models each live worker holds (its share of WORKER_MODEL_MEMORY_MB), by worker id.',
    labelNames: ['worker'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const worker of (await workers.list().catch(unavailable)) ?? [])
        if (worker.resident_mb !== undefined) this.set({ worker: worker.id }, worker.resident_mb);
    },
  });

  new Gauge({
    name: 'darkroom_worker_slots',
    help: 'Jobs of each queue the live workers can run at once (sum of their WORKER_CONCURRENCY).',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      const live = await workers.list().catch(unavailable);
      for (const queue of QUEUE_NAMES) if (live) this.set({ queue }, await workers.slots(queue));
    },
  });

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
