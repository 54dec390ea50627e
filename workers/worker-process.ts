import type { RedisClient } from '../src/redis/redis-connection';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Config, WorkerSettings } from '../src/config';
import { createJobQueues, type JobQueues } from '../src/jobs/job-queues';
import { isCancelRequested } from '../src/jobs/job-cancellation';
import { generationResultSchema, QUEUE_NAMES, type QueueName } from '../src/jobs/job-contract';
import { CANCELED_CODE, failureCode, JobFailure } from '../src/jobs/job-failure';
import { RunTimeSamples, workUnits } from '../src/jobs/queue-estimates';
import type { Logger } from '../src/logger';
import { loadModelCatalog } from '../src/models/model-catalog';
import { createRedisErrorLog, type RedisErrorLog } from '../src/redis/redis-reconnect';
import { describeRedis } from '../src/redis/redis-target';
import { createBlobStore } from '../src/storage/create-blob-store';
import { createResultCache } from './cache/result-cache';
import { blobSweeper } from './components/blob-sweeper';
import { cancelSubscriber } from './components/cancel-subscriber';
import { resource, startComponents } from './components/component';
import { heartbeat } from './components/heartbeat';
import { queueWorkers } from './components/queue-workers';
import { mainRedis, workerConnections } from './components/redis-connections';
import { queueWatchdog } from './components/watchdog';
import { runTimesPush } from './components/run-times-push';
import { webhooks } from './components/webhooks';
import { metricsPush, workerMetrics } from './components/worker-metrics-push';
import { parseModelQueue } from '../src/fleet/model-queues';
import { fleetState, modelPool } from './fleet/fleet-components';
import { coldGate, startsCold } from './fleet/cold-gate';
import { modelFolders } from './fleet/model-folders';
import { holdingModel } from './fleet/model-holding';
import { checkBudget, type ModelPool } from './fleet/model-pool';
import { servedQueues } from './fleet/served-queues';
import { createBatchProcessor } from './processors/batch-processor';
import { toJobFailure } from './processors/failure-mapping';
import { modelJobProcessor } from './processors/model-job-processor';
import type { Processor, ProcessorContext } from './processors/processor-context';
import type { WorkerMetrics } from './worker-metrics';

export interface WorkerProcess {
  id: string;
  close(): Promise<void>;
}

/** Every queue must have a processor; checked at start so a missing one is a startup error. */
const PROCESSORS: Record<QueueName, (ctx: ProcessorContext) => Processor> = {
  generation: modelJobProcessor('generation'),
  classification: modelJobProcessor('classification'),
  image_to_image: modelJobProcessor('image_to_image'),
  batch: createBatchProcessor,
};

/**
 * Why a job's own signal aborts once its processor has returned or thrown: one value, not the
 * DOMException (with its stack) that abort() makes by default for every job.
 */
const JOB_ENDED = Object.freeze({ name: 'JobEnded', message: 'the job has ended' });

/**
 * Runs each job with a logger of its own (every line carries jobId and the submitting request's
 * requestId), checks the cancel flag before work starts, maps failures to stable codes, and
 * measures the job: metrics, and the run-time averages behind the API's ETAs.
 */
function guarded(ctx: ProcessorContext, queue: QueueName, metrics: WorkerMetrics, runTimes: RunTimeSamples): Processor {
  const measured = queue !== 'batch'; // a batch parent only sums up its children
  return async (job, token, signal) => {
    const logger = ctx.logger.child({ jobId: job.id, requestId: job.data.request_id, queue });
    // The pipelines' signal aborts on a cancel and once the processor has returned or thrown:
    // images of a failed job still running stop at their next checkpoint, and its progress
    // reporter drops writes it was deferring, so none lands after the job's end.
    const ended = new AbortController();
    const jobSignal = signal ? AbortSignal.any([signal, ended.signal]) : ended.signal;
    // Each of a job's images (up to 16, more with diffusion's parts) waits on the job's signal at
    // once: not the leak Node warns of past 10 listeners.
    setMaxListeners(0, jobSignal);
    const model = 'params' in job.data ? job.data.params.model : '';
    const started = Date.now();
    if (measured && job.attemptsStarted <= 1 && job.processedOn)
      metrics.jobStarted(queue, model, job.processedOn - job.timestamp);
    logger.debug({ attempt: job.attemptsStarted }, 'job started');
    if (await isCancelRequested(ctx.redis, ctx.config.redis.prefix, String(job.id))) {
      throw new JobFailure(CANCELED_CODE, 'canceled by the client');
    }
    try {
      const result = await PROCESSORS[queue]({ ...ctx, logger })(job, token, jobSignal);
      if (measured) {
        const ms = Date.now() - started;
        const output = generationResultSchema.safeParse(result);
        metrics.jobEnded(queue, model, 'succeeded', ms, output.success ? output.data.images.length : 0);
        // Answers from the result cache say nothing about how long the work takes.
        if (!(result as { cached?: boolean } | undefined)?.cached) runTimes.add(queue, model, ms, workUnits(job.data));
      }
      return result;
    } catch (err) {
      const failure = toJobFailure(err, signal?.aborted ?? false);
      if (measured)
        metrics.jobEnded(
          queue,
          model,
          failureCode(failure) === CANCELED_CODE ? 'canceled' : 'failed',
          Date.now() - started,
          0,
        );
      throw failure;
    } finally {
      ended.abort(JOB_ENDED);
    }
  };
}

/**
 * Starts a worker: loads models, consumes the configured queues, listens for cancels. Its parts
 * start in the order listed and stop in reverse, so the order is the shutdown: stop taking work,
 * let running jobs finish (or hand them back), then flush, deregister and close.
 */
export async function startWorkerProcess(config: Config, logger: Logger): Promise<WorkerProcess> {
  const id = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const missing = QUEUE_NAMES.filter((q) => !PROCESSORS[q]);
  if (missing.length) throw new Error(`no processor for queue(s) ${missing.join(', ')}`);
  const core = openCore(config, logger);
  const parts = openParts(config, logger, id, core);
  const { metrics, registry, redis, lookups, store, redisErrors } = core;
  const { beats, push, runTimes, connections, hooks, workers } = parts;
  const stop = await startComponents(
    [
      metrics,
      registry,
      redis,
      lookups,
      beats.record,
      push.last,
      runTimes.last,
      cancelSubscriber(config.redis, logger, redisErrors, () => workers.all()),
      connections,
      hooks,
      workers,
      push.timer,
      runTimes.timer,
      blobSweeper(config, logger, store, lookups, redis),
      beats.beat,
      queueWatchdog(config.worker, logger, redis, workers),
      modelFolders({ config, logger, redis, pool: registry, workers }),
      coldGate({ config, logger, id, redis, pool: registry, workers }),
    ],
    logger,
  );
  logReady(config.worker, logger, id, registry.value);
  return { id, close: stop };
}

/** What the rest stands on: the models, the blob store, the result cache, metrics and the main Redis connection. */
function openCore(config: Config, logger: Logger) {
  const catalog = loadModelCatalog(config.models.path, [config.models.dir]);
  const redisErrors = createRedisErrorLog(logger, describeRedis(config.redis.target));
  const store = createBlobStore(config.storage);
  const { resultCacheMb, resultCacheTtlSeconds, modelMemoryMb } = config.worker;
  const cache = createResultCache(resultCacheMb * 1024 * 1024, resultCacheTtlSeconds * 1000);
  checkBudget(catalog.entries, modelMemoryMb);
  const metrics = workerMetrics(config.worker, logger);
  const registry = modelPool(config.worker, logger, catalog.entries, metrics);
  const redis = mainRedis(config.redis, logger, redisErrors);
  // Producer-side handles, for looking jobs up by id (the blob sweep asks whether a job still exists).
  const lookups = resource(
    'job lookups',
    () => openLookups(config, redis.value, redisErrors),
    (l) => closeLookups(l, logger),
  );
  return { catalog, redisErrors, store, cache, metrics, registry, redis, lookups };
}

/** The heartbeat, metrics push, webhooks and the queue workers with their processors. */
function openParts(config: Config, logger: Logger, id: string, core: ReturnType<typeof openCore>) {
  const { catalog, redisErrors, store, cache, metrics, registry, redis } = core;
  const beats = heartbeat({
    config,
    logger,
    id,
    redis,
    registry,
    cache,
    fleet: () => fleetState(workers, registry.value),
  });
  const push = metricsPush(config.redis, logger, metrics, redis);
  const samples = new RunTimeSamples();
  const runTimes = runTimesPush(config.redis, logger, samples, redis);
  const connections = workerConnections(config.redis, redisErrors);
  const hooks = webhooks({ config, logger, id, redis, redisErrors });
  const processor = (queue: string) => {
    const type = (parseModelQueue(queue)?.type ?? queue) as QueueName;
    const ctx = { config, logger, redis: redis.value, store, registry: registry.value, cache };
    return holdingModel(registry.value, guarded(ctx, type, metrics.value, samples));
  };
  const workers = queueWorkers({
    config,
    logger,
    id,
    queues: servedQueues(catalog.entries, config.worker),
    redis,
    redisErrors,
    connections,
    webhooks: hooks,
    store,
    processor,
    startsPaused: startsCold(config.worker, () => registry.value.loadedNames()),
  });
  return { beats, push, runTimes, connections, hooks, workers };
}

/** The one line that says this worker is up, and with what. */
function logReady(worker: WorkerSettings, logger: Logger, id: string, pool: ModelPool): void {
  logger.info(
    {
      id,
      queues: worker.queues,
      concurrency: worker.concurrency,
      models: pool.runners().map((r) => `${r.name}@${r.provider}`),
      serves: pool.served().map((e) => e.manifest.name),
    },
    'worker ready',
  );
}

function openLookups(
  config: Pick<Config, 'redis' | 'jobs'>,
  redis: RedisClient,
  redisErrors: RedisErrorLog,
): JobQueues {
  const policy = {
    prefix: config.redis.prefix,
    attempts: config.jobs.attempts,
    retentionSeconds: config.jobs.retentionSeconds,
  };
  return createJobQueues(redis, policy, (err, queue) => redisErrors.report(err, { queue }, 'queue error'));
}

async function closeLookups(lookups: JobQueues, logger: Logger): Promise<void> {
  // They share the main connection, which is disconnected next either way.
  await lookups
    .close()
    .catch((err: Error) => logger.debug({ err: err.message }, 'the job lookups closed with an error'));
}
