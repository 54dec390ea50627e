import { Worker } from 'bullmq';
import type { RedisClient } from '../../src/redis/redis-connection';
import { jobOwner } from '../../src/auth/api-keys';
import type { Config } from '../../src/config';
import { releaseJob } from '../../src/jobs/job-admission';
import type { Logger } from '../../src/logger';
import type { RedisErrorLog } from '../../src/redis/redis-reconnect';
import type { BlobStore } from '../../src/storage/blob-store';
import { createHeldJobs, holdingProcessor, type HeldJobs } from '../held-jobs';
import type { Processor } from '../processors/processor-context';
import type { JobWebhooks } from '../webhooks/job-webhooks';
import type { Component, Resource } from './component';
import type { WorkerConnections } from './redis-connections';

export interface QueueWorkersDeps {
  config: Pick<Config, 'redis' | 'worker' | 'jobs'>;
  logger: Logger;
  /** This process's worker id: the name BullMQ gives its workers. */
  id: string;
  /** The queues consumed from the start: the per-type ones and the model queues of the served models. */
  queues: string[];
  redis: Resource<RedisClient>;
  redisErrors: RedisErrorLog;
  connections: WorkerConnections;
  webhooks: Resource<JobWebhooks>;
  store: BlobStore;
  /** The processor of a queue (each job runs held: see holdingProcessor). */
  processor(queue: string): Processor;
}

/** The BullMQ workers consuming the job queues, one per queue. */
export interface QueueWorkers extends Component {
  /** Each queue's current worker. */
  current(): { queue: string; worker: Worker }[];
  /** Current workers and replaced ones still closing: all that may run a job now. */
  all(): Worker[];
  /**
   * Replaces a queue's worker. The old one closes in the background: gracefully while it still
   * holds jobs, forced otherwise (a stuck worker's graceful close could wait on its stuck fetch).
   */
  replace(queue: string): void;
  /** Starts consuming a queue (a model added while running); nothing when it already does. */
  add(queue: string): void;
  /** Stops taking jobs of a queue; the ones it runs finish (a model removed while running). */
  remove(queue: string): Promise<void>;
  /** The jobs these workers hold now. */
  held(): HeldJobs;
}

export function queueWorkers(deps: QueueWorkersDeps): QueueWorkers {
  const { config, logger } = deps;
  const queues: string[] = [];
  const workers: Worker[] = [];
  const retired = new Set<Worker>();
  const connectionOf = new Map<Worker, RedisClient>();
  let held: HeldJobs | undefined;
  const heldJobs = (): HeldJobs => {
    if (!held) throw new Error('the queue workers are used before they started');
    return held;
  };

  const startWorker = (queue: string): Worker => {
    const connection = deps.connections.open();
    const worker: Worker = new Worker(
      queue,
      holdingProcessor(heldJobs(), deps.store, () => worker, deps.processor(queue)),
      {
        connection,
        prefix: config.redis.prefix,
        concurrency: config.worker.concurrency,
        lockDuration: config.worker.lockDurationMs,
        stalledInterval: config.worker.stalledIntervalMs,
        maxStalledCount: config.worker.maxStalledCount,
        name: deps.id,
      },
    );
    logOutcomes(deps, queue, worker);
    worker.on('error', (err) => deps.redisErrors.report(err, { queue }, 'worker error'));
    worker.on('lockRenewalFailed', (jobIds) => heldJobs().lockLost(worker, jobIds));
    deps.webhooks.value.watch(worker);
    connectionOf.set(worker, connection);
    return worker;
  };

  const retire = (old: Worker) => {
    retired.add(old);
    void old
      .close(heldJobs().count(old) === 0)
      // Its jobs ended or were given up either way; what is left is to free its connection.
      .catch((err: Error) => logger.debug({ err: err.message }, 'a replaced queue worker closed with an error'))
      .finally(() => {
        retired.delete(old);
        deps.connections.close(connectionOf.get(old)!);
        connectionOf.delete(old);
      });
  };

  return {
    name: 'queue workers',
    async start() {
      held = createHeldJobs(logger, deps.redis.value);
      queues.push(...deps.queues);
      workers.push(...queues.map(startWorker));
    },
    stop: () => drain(deps, heldJobs(), [...workers, ...retired]),
    current: () => workers.map((worker, i) => ({ queue: queues[i], worker })),
    all: () => [...workers, ...retired],
    replace(queue) {
      const at = queues.indexOf(queue);
      const old = workers[at];
      workers[at] = startWorker(queue);
      retire(old);
    },
    add(queue) {
      if (queues.includes(queue)) return;
      queues.push(queue);
      workers.push(startWorker(queue));
    },
    async remove(queue) {
      const at = queues.indexOf(queue);
      if (at < 0) return;
      const [old] = workers.splice(at, 1);
      queues.splice(at, 1);
      retired.add(old);
      await old
        .close()
        .catch((err: Error) => logger.debug({ err: err.message }, 'a removed queue worker closed with an error'))
        .finally(() => {
          retired.delete(old);
          deps.connections.close(connectionOf.get(old)!);
          connectionOf.delete(old);
        });
    },
    held: heldJobs,
  };
}

/** Logs each job's outcome; a job that has ended for good frees its owner's in-flight slot (the API also prunes lazily). */
function logOutcomes({ config, logger, redis }: QueueWorkersDeps, queue: string, worker: Worker): void {
  const release = (job: { id?: string; data: { owner?: string } }) =>
    void releaseJob(redis.value, config.redis.prefix, jobOwner(job.data), String(job.id)).catch((err: Error) =>
      logger.debug(
        { jobId: job.id, err: err.message },
        'could not free the owner’s in-flight slot; the API prunes it lazily',
      ),
    );
  worker.on('failed', (job, err) => {
    logger.info(
      { jobId: job?.id, requestId: job?.data.request_id, queue, reason: err.message, attempts: job?.attemptsMade },
      'job failed',
    );
    if (job?.finishedOn) release(job);
  });
  worker.on('completed', (job) => {
    logger.info(
      { jobId: job.id, requestId: job.data.request_id, queue, ms: (job.finishedOn ?? 0) - (job.processedOn ?? 0) },
      'job succeeded',
    );
    release(job);
  });
}

/**
 * Stops taking jobs; running ones go on, their locks renewed, for up to the grace period. Past it
 * they are handed back rather than left to the stall timeout, so another worker starts them at once.
 */
async function drain({ config, logger }: QueueWorkersDeps, held: HeldJobs, workers: Worker[]): Promise<void> {
  const closing = Promise.all(workers.map((w) => w.close())).catch((err: Error) =>
    // A close that fails still stopped the fetch loop; the connections are disconnected next.
    logger.debug({ err: err.message }, 'a queue worker closed with an error'),
  );
  if (await settlesWithin(closing, config.jobs.shutdownGraceMs)) return;
  const handing = held
    .handBack()
    .then((jobs) => logger.warn({ jobs }, 'grace period over; handed the running jobs back to the queue'));
  if (!(await settlesWithin(handing, 5000)))
    logger.warn('could not hand the running jobs back (Redis unreachable?); they run again after the stall timeout');
  // Their processors stop at the next checkpoint (an inference already running ends before the
  // model registry stops its thread).
  await settlesWithin(closing, 2000);
}

/** Resolves true when `work` settles within `ms`, false otherwise. */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
