import type { RedisClient } from '../redis/redis-connection';

/**
 * Metrics the workers produce and one scrape of the API shows for the whole fleet. Workers add
 * their increments (counts, sums, histogram buckets) to one Redis hash per metric every few
 * seconds, so the totals survive workers coming and going (no counter resets when one stops) and
 * a scrape costs one HGETALL per metric, whatever the number of workers.
 */
export interface FleetMetric {
  name: string;
  help: string;
  type: 'histogram' | 'counter';
  labels: readonly string[];
  buckets?: readonly number[];
}

const SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

export const FLEET_METRICS = {
  jobWait: {
    name: 'darkroom_job_wait_seconds',
    help: 'Time from submission until a worker took the job (first attempt).',
    type: 'histogram',
    labels: ['job_type', 'model'],
    buckets: SECONDS,
  },
  jobRun: {
    name: 'darkroom_job_run_seconds',
    help: 'Time a worker spent on one attempt of a job, by outcome.',
    type: 'histogram',
    labels: ['job_type', 'model', 'outcome'],
    buckets: SECONDS,
  },
  batchSize: {
    name: 'darkroom_inference_batch_size',
    help: 'Items per inference run (requests of concurrent jobs batched together).',
    type: 'histogram',
    labels: ['model'],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  },
  inferenceTime: {
    name: 'darkroom_inference_seconds',
    help: 'Duration of one inference run (one batch).',
    type: 'histogram',
    labels: ['model'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  },
  imagesProduced: {
    name: 'darkroom_images_produced_total',
    help: 'Images written by succeeded jobs (results answered from the cache included).',
    type: 'counter',
    labels: ['job_type', 'model'],
  },
  modelLoads: {
    name: 'darkroom_model_loads_total',
    help: 'Models loaded by workers (at start, or on a first job within WORKER_MODEL_MEMORY_MB).',
    type: 'counter',
    labels: ['model'],
  },
  modelUnloads: {
    name: 'darkroom_model_unloads_total',
    help: 'Models unloaded by workers (to make room, or their folder removed).',
    type: 'counter',
    labels: ['model'],
  },
  modelLoadTime: {
    name: 'darkroom_model_load_seconds',
    help: 'Time one model load took (sessions created, inputs checked).',
    type: 'histogram',
    labels: ['model'],
    buckets: SECONDS,
  },
} as const satisfies Record<string, FleetMetric>;

const hashKey = (prefix: string, metric: FleetMetric) => `${prefix}:metrics:${metric.name}`;
/** Hash fields are `<label values as JSON>|<part>`, the part being `count`, `sum`, `le:<bound>` (not cumulative) or `value`. */
const field = (labelValues: readonly string[], part: string) => `${JSON.stringify(labelValues)}|${part}`;

/** Increments not yet added to Redis: metric name -> hash field -> amount. */
export class FleetDeltas {
  private readonly pending = new Map<FleetMetric, Map<string, number>>();

  private add(metric: FleetMetric, key: string, amount: number): void {
    let fields = this.pending.get(metric);
    if (!fields) this.pending.set(metric, (fields = new Map()));
    fields.set(key, (fields.get(key) ?? 0) + amount);
  }

  observe(metric: FleetMetric, labelValues: readonly string[], value: number): void {
    this.add(metric, field(labelValues, 'count'), 1);
    this.add(metric, field(labelValues, 'sum'), value);
    const bound = metric.buckets?.find((b) => value <= b);
    if (bound !== undefined) this.add(metric, field(labelValues, `le:${bound}`), 1);
  }

  inc(metric: FleetMetric, labelValues: readonly string[], by = 1): void {
    this.add(metric, field(labelValues, 'value'), by);
  }

  /** Adds everything pending to Redis in one transaction; on failure it stays pending for the next try. */
  async push(redis: RedisClient, prefix: string): Promise<void> {
    if (!this.pending.size) return;
    const batch = new Map(this.pending);
    this.pending.clear();
    const tx = redis.multi();
    for (const [metric, fields] of batch) {
      for (const [key, amount] of fields) {
        if (Number.isInteger(amount)) tx.hincrby(hashKey(prefix, metric), key, amount);
        else tx.hincrbyfloat(hashKey(prefix, metric), key, amount);
      }
    }
    try {
      await tx.exec();
    } catch (err) {
      for (const [metric, fields] of batch) for (const [key, amount] of fields) this.add(metric, key, amount);
      throw err;
    }
  }
}

interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** One metric in prom-client's JSON form (`registry.getMetricsAsJSON()`, what `AggregatorRegistry.aggregate` takes). */
export interface MetricJson {
  name: string;
  help: string;
  type: FleetMetric['type'];
  aggregator: 'sum';
  values: Sample[];
}

/** The fleet's metrics, read from Redis. */
export async function readFleetMetrics(redis: RedisClient, prefix: string): Promise<MetricJson[]> {
  const metrics: FleetMetric[] = Object.values(FLEET_METRICS);
  const tx = redis.multi();
  for (const metric of metrics) tx.hgetall(hashKey(prefix, metric));
  const replies = (await tx.exec()) ?? [];
  return metrics.map((metric, i) => {
    const hash = (replies[i]?.[1] ?? {}) as Record<string, string>;
    const series = new Map<string, Record<string, number>>();
    for (const [key, value] of Object.entries(hash)) {
      const cut = key.lastIndexOf('|');
      const labels = key.slice(0, cut);
      if (!series.has(labels)) series.set(labels, {});
      series.get(labels)![key.slice(cut + 1)] = Number(value);
    }
    const values: Sample[] = [];
    for (const [json, parts] of series) {
      const labelValues = JSON.parse(json) as string[];
      const labels = Object.fromEntries(metric.labels.map((name, j) => [name, labelValues[j] ?? '']));
      if (metric.type === 'counter') {
        values.push({ metricName: metric.name, labels, value: parts.value ?? 0 });
        continue;
      }
      let cumulative = 0;
      for (const bound of metric.buckets ?? []) {
        cumulative += parts[`le:${bound}`] ?? 0;
        values.push({ metricName: `${metric.name}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
      }
      values.push({ metricName: `${metric.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: parts.count ?? 0 });
      values.push({ metricName: `${metric.name}_sum`, labels, value: parts.sum ?? 0 });
      values.push({ metricName: `${metric.name}_count`, labels, value: parts.count ?? 0 });
    }
    return { name: metric.name, help: metric.help, type: metric.type, aggregator: 'sum', values };
  });
}
