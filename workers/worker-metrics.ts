import http from 'node:http';
import type { RedisClient } from '../src/redis/redis-connection';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { QueueName } from '../src/jobs/job-contract';
import { listen } from '../src/http/server-listen';
import type { Logger } from '../src/logger';
import { FLEET_METRICS, FleetDeltas, type FleetMetric } from '../src/metrics/fleet-metrics';

/**
 * What this worker measures: job waits and runs, inference batches, images produced. Each
 * observation goes to a local prom-client registry (served on WORKER_METRICS_PORT when set) and
 * into increments that `flush` adds to Redis, where the API's /metrics reads the fleet's totals.
 */
export interface WorkerMetrics {
  jobStarted(jobType: QueueName, model: string, waitMs: number): void;
  jobEnded(
    jobType: QueueName,
    model: string,
    outcome: 'succeeded' | 'failed' | 'canceled',
    runMs: number,
    images: number,
  ): void;
  inferenceRun(model: string, items: number, ms: number): void;
  modelLoaded(model: string, seconds: number): void;
  modelUnloaded(model: string): void;
  /** Adds what was measured since the last flush to Redis. */
  flush(redis: RedisClient, prefix: string): Promise<void>;
  close(): Promise<void>;
}

type LocalMetric = Histogram<string> | Counter<string>;

/** Where the worker serves its own /metrics; unset port: nowhere. */
export interface WorkerMetricsListen {
  port?: number;
  host: string;
}

/** Starts measuring, and serving /metrics when a port is set; rejects with a ListenError when it cannot listen. */
export async function startWorkerMetrics(logger: Logger, listenOn: WorkerMetricsListen): Promise<WorkerMetrics> {
  const registry = new Registry();
  const deltas = new FleetDeltas();
  const local = localMetrics(registry);
  const labelsOf = (metric: FleetMetric, values: string[]) =>
    Object.fromEntries(metric.labels.map((name, i) => [name, values[i]]));
  const observe = (metric: FleetMetric, values: string[], value: number) => {
    (local.get(metric) as Histogram<string>).observe(labelsOf(metric, values), value);
    deltas.observe(metric, values, value);
  };
  const inc = (metric: FleetMetric, values: string[], by: number) => {
    (local.get(metric) as Counter<string>).inc(labelsOf(metric, values), by);
    deltas.inc(metric, values, by);
  };
  const server = await serveMetrics(registry, logger, listenOn);

  return {
    jobStarted(jobType, model, waitMs) {
      observe(FLEET_METRICS.jobWait, [jobType, model], Math.max(0, waitMs) / 1000);
    },
    jobEnded(jobType, model, outcome, runMs, images) {
      observe(FLEET_METRICS.jobRun, [jobType, model, outcome], runMs / 1000);
      if (images) inc(FLEET_METRICS.imagesProduced, [jobType, model], images);
    },
    inferenceRun(model, items, ms) {
      observe(FLEET_METRICS.batchSize, [model], items);
      observe(FLEET_METRICS.inferenceTime, [model], ms / 1000);
    },
    modelLoaded(model, seconds) {
      inc(FLEET_METRICS.modelLoads, [model], 1);
      observe(FLEET_METRICS.modelLoadTime, [model], seconds);
    },
    modelUnloaded(model) {
      inc(FLEET_METRICS.modelUnloads, [model], 1);
    },
    flush: (redis, prefix) => deltas.push(redis, prefix),
    async close() {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}

/** This worker's own copy of every fleet metric, in `registry`. */
function localMetrics(registry: Registry): Map<FleetMetric, LocalMetric> {
  const local = new Map<FleetMetric, LocalMetric>();
  for (const metric of Object.values(FLEET_METRICS) as FleetMetric[]) {
    const config = { name: metric.name, help: metric.help, labelNames: [...metric.labels], registers: [registry] };
    local.set(
      metric,
      metric.type === 'histogram'
        ? new Histogram({ ...config, buckets: [...(metric.buckets ?? [])] })
        : new Counter(config),
    );
  }
  return local;
}

/** Serves `registry` on /metrics when a port is set; undefined when not. */
async function serveMetrics(
  registry: Registry,
  logger: Logger,
  listenOn: WorkerMetricsListen,
): Promise<http.Server | undefined> {
  let server: http.Server | undefined;
  const { port, host } = listenOn;
  if (port) {
    collectDefaultMetrics({ register: registry });
    server = http.createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    // Unauthenticated, so loopback unless WORKER_METRICS_HOST says otherwise.
    const bound = await listen(server, {
      port,
      host,
      what: 'the worker metrics server',
      variable: 'WORKER_METRICS_PORT',
    });
    logger.info({ address: bound.address, port: bound.port }, 'worker metrics on /metrics');
  }
  return server;
}
