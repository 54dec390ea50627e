import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Config } from '../src/config';
import { jobOwner } from '../src/auth/api-keys';
import { releaseJob } from '../src/jobs/job-admission';
import { createJobQueues } from '../src/jobs/job-queues';
import { isCancelRequested, subscribeToCancels } from '../src/jobs/job-cancellation';
import { generationResultSchema, QUEUE_NAMES, type QueueName } from '../src/jobs/job-contract';
import { CANCELED_CODE, failureCode, JobFailure } from '../src/jobs/job-failure';
import { recordRunTime, workUnits } from '../src/jobs/queue-estimates';
import { removeHeartbeat, writeHeartbeat } from '../src/jobs/worker-directory';
import type { Logger } from '../src/logger';
import { loadModelCatalog } from '../src/models/model-catalog';
import { checkRedisPolicy, createRedis } from '../src/redis/redis-connection';
import { createRedisErrorLog } from '../src/redis/redis-reconnect';
import { createBlobStore } from '../src/storage/create-blob-store';
import { createResultCache } from './cache/result-cache';
import { createHeldJobs, holdingProcessor, type HeldJobs } from './held-jobs';
import { loadModelRegistry } from './model-registry';
import { createBatchProcessor } from './processors/batch-processor';
import { createClassificationProcessor } from './processors/classification-processor';
import { toJobFailure } from './processors/failure-mapping';
import { createGenerationProcessor } from './processors/generation-processor';
import { createImageToImageProcessor } from './processors/image-to-image-processor';
import type { Processor, ProcessorContext } from './processors/processor-context';
import { createQueueWatchdog, type WatchedWorker } from './queue-watchdog';
import { startWorkerMetrics, type WorkerMetrics } from './worker-metrics';
import { createJobWebhooks } from './webhooks/job-webhooks';
import { startWebhookDelivery } from './webhooks/webhook-delivery';
import { createWebhookQueue, WEBHOOK_QUEUE } from '../src/webhooks/webhook-queue';
import { randomUUID } from 'node:crypto';

export interface WorkerProcess {
  id: string;
  close(): Promise<void>;
}

/** Every queue must have a processor; checked at start so a missing one is a startup error. */
const PROCESSORS: Record<QueueName, (ctx: ProcessorContext) => Processor> = {
  generation: createGenerationProcessor,
  classification: createClassificationProcessor,
  image_to_image: createImageToImageProcessor,
  batch: createBatchProcessor,
};

/**
 * Runs each job with a logger of its own (every line carries jobId and the submitting request's
 * requestId), checks the cancel flag before work starts, maps failures to stable codes, and
 * measures the job: metrics, and the run-time averages behind the API's ETAs.
 */
function guarded(ctx: ProcessorContext, queue: QueueName, metrics: WorkerMetrics): Processor {
  const measured = queue !== 'batch'; // a batch parent only sums up its children
  return async (job, token, signal) => {
    const logger = ctx.logger.child({ jobId: job.id, requestId: job.data.request_id, queue });
    // Each of a job's images (up to 16, more with diffusion's parts) waits on the job's signal at
    // once: not the leak Node warns of past 10 listeners.
    if (signal) setMaxListeners(0, signal);
    const model = 'params' in job.data ? job.data.params.model : '';
    const started = Date.now();
    if (measured && job.attemptsStarted <= 1 && job.processedOn) metrics.jobStarted(queue, model, job.processedOn - job.timestamp);
    logger.debug({ attempt: job.attemptsStarted }, 'job started');
    if (await isCancelRequested(ctx.redis, ctx.config.QUEUE_PREFIX, String(job.id))) {
      throw new JobFailure(CANCELED_CODE, 'canceled by the client');
    }
    try {
      const result = await PROCESSORS[queue]({ ...ctx, logger })(job, token, signal);
      if (measured) {
        const ms = Date.now() - started;
        const output = generationResultSchema.safeParse(result);
        metrics.jobEnded(queue, model, 'succeeded', ms, output.success ? output.data.images.length : 0);
        // Answers from the result cache say nothing about how long the work takes.
        if (!(result as { cached?: boolean } | undefined)?.cached) {
          void recordRunTime(ctx.redis, ctx.config.QUEUE_PREFIX, queue, model, ms, workUnits(job.data)).catch(() => undefined);
        }
      }
      return result;
    } catch (err) {
      const failure = toJobFailure(err, signal?.aborted ?? false);
      if (measured) metrics.jobEnded(queue, model, failureCode(failure) === CANCELED_CODE ? 'canceled' : 'failed', Date.now() - started, 0);
      throw failure;
    }
  };
}

/** Starts a worker: loads models, consumes the configured queues, listens for cancels. */
export async function startWorkerProcess(config: Config, logger: Logger): Promise<WorkerProcess> {
  const id = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const missing = QUEUE_NAMES.filter((q) => !PROCESSORS[q]);
  if (missing.length) throw new Error(`no processor for queue(s) ${missing.join(', ')}`);
  const catalog = loadModelCatalog(config.modelsPath);
  // Before the models load, so a busy port fails the start at once.
  const metrics = await startWorkerMetrics(logger, { port: config.WORKER_METRICS_PORT, host: config.WORKER_METRICS_HOST });
  const registry = await loadModelRegistry(catalog, config, logger, metrics.inferenceRun);
  const redisErrors = createRedisErrorLog(logger, config.redisUrl);
  const redis = redisErrors.watch(createRedis(config.redisUrl, 'worker'));
  void checkRedisPolicy(redis).then((warning) => warning && logger.warn(warning), () => undefined);
  const store = createBlobStore(config);
  // Producer-side handles, for looking jobs up by id (the blob sweep asks whether a job still exists).
  const queueError = (err: Error, queue: string) => redisErrors.report(err, { queue }, 'queue error');
  const lookups = createJobQueues(redis, { prefix: config.QUEUE_PREFIX, attempts: config.JOB_ATTEMPTS, retentionSeconds: config.JOB_RETENTION_SECONDS }, queueError);
  const cache = createResultCache(config.RESULT_CACHE_MB * 1024 * 1024, config.RESULT_CACHE_TTL_SECONDS * 1000);
  const ctx: ProcessorContext = { config, logger, redis, store, registry, cache };

  const held = createHeldJobs(logger, redis);
  // Job state changes become webhook deliveries (the webhooks queue is consumed below when listed).
  const webhookQueue = createWebhookQueue(redis, config);
  webhookQueue.on('error', (err) => queueError(err, webhookQueue.name));
  const webhooks = createJobWebhooks({ config, redis, logger, queue: webhookQueue });
  const jobQueues = config.WORKER_QUEUES.filter((q): q is QueueName => q !== WEBHOOK_QUEUE);
  /** Each BullMQ worker's own connection (BullMQ leaves a connection it was given open when it closes). */
  const connections = new Map<Worker, Redis>();
  const startQueueWorker = (queue: QueueName): Worker => {
    const connection = redisErrors.watch(createRedis(config.redisUrl, 'worker'));
    const worker: Worker = new Worker(queue, holdingProcessor(held, store, () => worker, guarded(ctx, queue, metrics)), {
      connection,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.WORKER_CONCURRENCY,
      lockDuration: config.LOCK_DURATION_MS,
      stalledInterval: config.STALLED_INTERVAL_MS,
      maxStalledCount: config.MAX_STALLED_COUNT,
      name: id,
    });
    // A job that has ended for good frees its owner's in-flight slot (the API also prunes lazily).
    const release = (job: { id?: string; data: { owner?: string } }) =>
      void releaseJob(redis, config.QUEUE_PREFIX, jobOwner(job.data), String(job.id)).catch(() => undefined);
    worker.on('failed', (job, err) => {
      logger.info({ jobId: job?.id, requestId: job?.data.request_id, queue, reason: err.message, attempts: job?.attemptsMade }, 'job failed');
      if (job?.finishedOn) release(job);
    });
    worker.on('completed', (job) => {
      logger.info({ jobId: job.id, requestId: job.data.request_id, queue, ms: (job.finishedOn ?? 0) - (job.processedOn ?? 0) }, 'job succeeded');
      release(job);
    });
    worker.on('error', (err) => redisErrors.report(err, { queue }, 'worker error'));
    worker.on('lockRenewalFailed', (jobIds) => held.lockLost(worker, jobIds));
    webhooks.watch(worker);
    connections.set(worker, connection);
    return worker;
  };
  const workers = jobQueues.map(startQueueWorker);
  const watchdog = watchQueueWorkers({ config, logger, redis, queues: jobQueues, workers, startQueueWorker, held, connections });
  const delivery = config.WORKER_QUEUES.includes(WEBHOOK_QUEUE) ? startWebhookDelivery(config, redis, logger, id, redisErrors) : undefined;

  const subscriber = redisErrors.watch(createRedis(config.redisUrl, 'subscriber'));
  const unsubscribe = await subscribeToCancels(subscriber, config.QUEUE_PREFIX, (jobId) => {
    for (const w of [...workers, ...watchdog.retired()]) if (w.cancelJob(jobId, CANCELED_CODE)) logger.info({ jobId }, 'canceling running job');
  });

  // The heartbeat tells operators (and tests) which workers are alive, what they run on, and how
  // long the event loop was blocked: inference runs on threads, so this must stay small.
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const startedAt = new Date().toISOString();
  const beat = async () => {
    const info = {
      id,
      pid: process.pid,
      host: os.hostname(),
      started_at: startedAt,
      queues: config.WORKER_QUEUES,
      concurrency: config.WORKER_CONCURRENCY,
      models: registry.runners().map((r) => ({ name: r.name, provider: r.provider, ...r.stats() })),
      // Since the previous heartbeat.
      event_loop_max_ms: Number((lag.max / 1e6).toFixed(1)),
      event_loop_p99_ms: Number((lag.percentile(99) / 1e6).toFixed(1)),
      cache: cache.stats(),
    };
    lag.reset();
    logger.debug(info, 'heartbeat');
    await writeHeartbeat(redis, config.QUEUE_PREFIX, id, info, 15).catch(() => undefined);
  };
  await beat();
  const heartbeat = setInterval(() => void beat(), 2000);
  // Metrics reach the API's /metrics through Redis; kept for the next flush while Redis is away.
  const flushMetrics = () => metrics.flush(redis, config.QUEUE_PREFIX).catch((err: Error) => logger.debug({ err: err.message }, 'metrics flush failed'));
  const metricsFlush = setInterval(() => void flushMetrics(), 2000);
  const sweeper = setInterval(() => {
    // A folder goes once its job is gone from Redis (expired) and its files are past the grace period.
    store.sweep(config.BLOB_SWEEP_GRACE_SECONDS * 1000, async (jobId) => (await lookups.getJob(jobId)) !== undefined).then(
      (n) => n && logger.info({ removed: n }, 'expired job files removed'),
      (err) => logger.warn({ err }, 'blob sweep failed'),
    );
  }, config.BLOB_SWEEP_INTERVAL_SECONDS * 1000);
  logger.info({ id, queues: config.WORKER_QUEUES, concurrency: config.WORKER_CONCURRENCY, models: registry.runners().map((r) => `${r.name}@${r.provider}`) }, 'worker ready');

  return {
    id,
    async close() {
      watchdog.stop();
      clearInterval(heartbeat);
      clearInterval(sweeper);
      clearInterval(metricsFlush);
      // Stop taking jobs; running ones go on, their locks renewed, for up to the grace period.
      const closing = Promise.all([...workers, ...watchdog.retired()].map((w) => w.close()));
      if (!(await settlesWithin(closing, config.SHUTDOWN_GRACE_MS))) {
        // Handed back rather than left to the stall timeout, so another worker starts them at once.
        const handing = held.handBack().then((jobs) => logger.warn({ jobs }, 'grace period over; handed the running jobs back to the queue'));
        if (!(await settlesWithin(handing, 5000))) logger.warn('could not hand the running jobs back (Redis unreachable?); they run again after the stall timeout');
        // Their processors stop at the next checkpoint (an inference already running ends before
        // registry.close() stops its thread).
        await settlesWithin(closing, 2000);
      }
      // Events of the jobs that just ended are queued by now; deliveries in flight get the grace period too.
      await Promise.all([delivery?.close(config.SHUTDOWN_GRACE_MS), webhooks.close().catch(() => undefined)]);
      for (const connection of connections.values()) connection.disconnect();
      await unsubscribe().catch(() => undefined);
      subscriber.disconnect();
      await flushMetrics();
      await removeHeartbeat(redis, config.QUEUE_PREFIX, id).catch(() => undefined);
      await lookups.close().catch(() => undefined);
      redis.disconnect();
      await registry.close();
      await metrics.close();
      lag.disable();
    },
  };
}

/** Resolves true when `work` settles within `ms`, false otherwise. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([work.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts the queue watchdog over `workers` (replaced in place when one is stuck). A replaced worker
 * closes in the background: gracefully while it still holds jobs, forced otherwise (a stuck
 * worker's graceful close could wait on its stuck fetch).
 */
function watchQueueWorkers(deps: {
  config: Config;
  logger: Logger;
  redis: Redis;
  /** The job queues `workers` consume, in the same order. */
  queues: QueueName[];
  workers: Worker[];
  startQueueWorker: (queue: QueueName) => Worker;
  held: HeldJobs;
  connections: Map<Worker, Redis>;
}) {
  const { config, logger, redis, queues, workers, startQueueWorker, held, connections } = deps;
  const retired = new Set<Worker>();
  const watched = (queue: QueueName, worker: Worker): WatchedWorker => ({
    queue,
    isRunning: () => worker.isRunning(),
    async blockingStatus() {
      const client = worker.getBackend().blockingClient;
      if (!client) return undefined;
      // The client promise waits while the connection is first set up; that is no verdict.
      const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1000).unref());
      return Promise.race([client.then((c) => c.status, () => 'failed'), timeout]);
    },
    held: () => held.count(worker),
    concurrency: config.WORKER_CONCURRENCY,
    lastTakenAt: () => held.lastTakenAt(worker),
  });
  const watchdog = createQueueWatchdog({
    stuckAfterMs: config.WORKER_WATCHDOG_MS,
    intervalMs: Math.min(5000, Math.max(250, Math.floor(config.WORKER_WATCHDOG_MS / 4))),
    workers: () => workers.map((w, i) => watched(queues[i], w)),
    redisReady: () => redis.status === 'ready',
    // Waiting jobs sit in a list, or in a sorted set when they have a priority (every API job has).
    waiting: async (queue) => {
      const [plain, prioritized] = await Promise.all([redis.llen(`${config.QUEUE_PREFIX}:${queue}:wait`), redis.zcard(`${config.QUEUE_PREFIX}:${queue}:prioritized`)]);
      return plain + prioritized;
    },
    async recreate(queue) {
      const at = queues.indexOf(queue as QueueName);
      const old = workers[at];
      workers[at] = startQueueWorker(queues[at]);
      retired.add(old);
      void old
        .close(held.count(old) === 0)
        .catch(() => undefined)
        .finally(() => {
          retired.delete(old);
          connections.get(old)?.disconnect();
          connections.delete(old);
        });
    },
    logger,
  });
  if (config.WORKER_WATCHDOG_MS > 0) watchdog.start();
  return { stop: () => watchdog.stop(), retired: () => [...retired] };
}
