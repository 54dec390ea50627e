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
  /** Queues whose worker starts paused, before it fetches anything (the cold gate's: startsCold). */
  startsPaused?(queue: string): boolean;
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

/** What the queue workers keep between calls. */
interface WorkerSet {
  queues: string[];
  /** The current worker of each queue, in the order of `queues`. */
  workers: Worker[];
  /** Replaced or removed workers still closing. */
  retired: Set<Worker>;
  connectionOf: Map<Worker, RedisClient>;
  held?: HeldJobs;
}

export function queueWorkers(deps: QueueWorkersDeps): QueueWorkers {
  const set: WorkerSet = { queues: [], workers: [], retired: new Set(), connectionOf: new Map() };
  const start = (queue: string) => startWorker(deps, set, queue);
  return {
    name: 'queue workers',
    async start() {
      set.held = createHeldJobs(deps.logger, deps.redis.value);
      set.queues.push(...deps.queues);
      set.workers.push(...set.queues.map(start));
    },
    stop: () => drain(deps, heldOf(set), [...set.workers, ...set.retired]),
    current: () => set.workers.map((worker, i) => ({ queue: set.queues[i], worker })),
    all: () => [...set.workers, ...set.retired],
    replace(queue) {
      const at = set.queues.indexOf(queue);
      const old = set.workers[at];
      set.workers[at] = start(queue);
      retire(deps, set, old);
    },
    add(queue) {
      if (set.queues.includes(queue)) return;
      set.queues.push(queue);
      set.workers.push(start(queue));
    },
    remove: (queue) => removeWorker(deps, set, queue),
    held: () => heldOf(set),
  };
}

function heldOf(set: WorkerSet): HeldJobs {
  if (!set.held) throw new Error('the queue workers are used before they started');
  return set.held;
}

/** A BullMQ worker for `queue`, on a connection of its own; each job it runs is held (holdingProcessor). */
function startWorker(deps: QueueWorkersDeps, set: WorkerSet, queue: string): Worker {
  const { config } = deps;
  const connection = deps.connections.open();
  const worker: Worker = new Worker(
    queue,
    holdingProcessor(heldOf(set), deps.store, () => worker, deps.processor(queue)),
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
  if (deps.startsPaused?.(queue)) void worker.pause(true);
  logOutcomes(deps, queue, worker);
  worker.on('error', (err) => deps.redisErrors.report(err, { queue }, 'worker error'));
  worker.on('lockRenewalFailed', (jobIds) => heldOf(set).lockLost(worker, jobIds));
  deps.webhooks.value.watch(worker);
  set.connectionOf.set(worker, connection);
  return worker;
}

/** Closes a replaced worker in the background: gracefully while it still holds jobs, forced otherwise. */
function retire(deps: QueueWorkersDeps, set: WorkerSet, old: Worker): void {
  set.retired.add(old);
  // Its jobs ended or were given up either way; what is left is to free its connection.
  void closeRetired(deps, set, old, old.close(heldOf(set).count(old) === 0), 'a replaced queue worker');
}

/** Stops taking a queue's jobs; the ones its worker runs finish. */
async function removeWorker(deps: QueueWorkersDeps, set: WorkerSet, queue: string): Promise<void> {
  const at = set.queues.indexOf(queue);
  if (at < 0) return;
  const [old] = set.workers.splice(at, 1);
  set.queues.splice(at, 1);
  set.retired.add(old);
  await closeRetired(deps, set, old, old.close(), 'a removed queue worker');
}

/** Waits for a retired worker to close, then frees its connection. */
function closeRetired(deps: QueueWorkersDeps, set: WorkerSet, old: Worker, closing: Promise<void>, what: string) {
  return closing
    .catch((err: Error) => deps.logger.debug({ err: err.message }, `${what} closed with an error`))
    .finally(() => {
      set.retired.delete(old);
      deps.connections.close(set.connectionOf.get(old)!);
      set.connectionOf.delete(old);
    });
}

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
