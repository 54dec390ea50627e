import type { Job, Worker } from 'bullmq';
import type { RedisClient } from '../src/redis/redis-connection';
import { wakeIdleWorkers } from '../src/jobs/bullmq-internals';
import type { JobPayload } from '../src/jobs/job-contract';
import type { Logger } from '../src/logger';
import { jobPrefix, type BlobStore } from '../src/storage/blob-store';
import type { Processor } from './processors/processor-context';

/** A job this process is running: BullMQ's lock, under `token`, says it is ours until we finish it or give it up. */
interface HeldJob {
  job: Job<JobPayload>;
  token: string;
  worker: Worker;
}

/**
 * The jobs this worker process holds, across its BullMQ workers (the watchdog may replace one while
 * its jobs still run). A job it gives up — handed back at shutdown, or whose lock it lost — must not
 * have its outcome recorded: another worker owns it now.
 */
export interface HeldJobs {
  /** Runs `work` with the job recorded as held. */
  track<T>(worker: Worker, job: Job<JobPayload>, token: string, work: () => Promise<T>): Promise<T>;
  /** Jobs held now, by one worker or by all. */
  count(worker?: Worker): number;
  /** When `worker` last took a job (ms since the epoch; 0 when never). */
  lastTakenAt(worker: Worker): number;
  /** Whether this process gave the job up. */
  released(jobId: string): boolean;
  /** BullMQ could not renew these locks: someone else will run the jobs, so stop them here. */
  lockLost(worker: Worker, jobIds: string[]): void;
  /**
   * Moves every held job back to the waiting list, releasing its lock, so another worker takes it at
   * once instead of after the stall timeout, then aborts its processor here. Returns the job ids.
   */
  handBack(): Promise<string[]>;
}

export function createHeldJobs(logger: Logger, redis: RedisClient): HeldJobs {
  const held = new Map<string, HeldJob>();
  const released = new Set<string>();
  const takenAt = new WeakMap<Worker, number>();

  const giveUp = (entry: HeldJob, reason: string) => {
    const id = String(entry.job.id);
    released.add(id);
    entry.worker.cancelJob(id, reason);
  };

  return {
    async track(worker, job, token, work) {
      const id = String(job.id);
      held.set(id, { job, token, worker });
      takenAt.set(worker, Date.now());
      try {
        return await work();
      } finally {
        held.delete(id);
        // Kept a while so the processor's late failure is recognised; ids are unique per job.
        setTimeout(() => released.delete(id), 60_000).unref();
      }
    },
    count: (worker) => [...held.values()].filter((h) => !worker || h.worker === worker).length,
    lastTakenAt: (worker) => takenAt.get(worker) ?? 0,
    released: (jobId) => released.has(jobId),
    lockLost(worker, jobIds) {
      for (const id of jobIds) {
        const entry = held.get(id);
        if (!entry || entry.worker !== worker) continue;
        logger.warn({ jobId: id }, 'lost the lock of a running job (another worker will run it); stopping it here');
        giveUp(entry, 'lock_lost');
      }
    },
    async handBack() {
      const entries = [...held.values()].filter((h) => !released.has(String(h.job.id)));
      await Promise.all(
        entries.map(async (entry) => {
          // Released first, so the processor's abort below is never recorded as this job's failure.
          released.add(String(entry.job.id));
          try {
            await entry.job.moveToWait(entry.token);
            // Without it idle workers would see a prioritized job only after their block timeout.
            await wakeIdleWorkers(redis, entry.worker);
          } catch (err) {
            // Finished meanwhile, or the lock already expired: either way it is not ours any more.
            logger.warn(
              { jobId: entry.job.id, err: (err as Error).message },
              'could not hand a job back; it runs again after the stall timeout',
            );
          }
          giveUp(entry, 'shutdown');
        }),
      );
      return entries.map((e) => String(e.job.id));
    },
  };
}

/**
 * Wraps a queue's processor: the job counts as held while it runs; a re-run starts from an empty
 * outputs folder (a killed attempt may have left some of its files, or a temporary one it never
 * renamed); and a job this process gave up is not recorded as failed: BullMQ's lock check turns
 * the thrown error into a no-op, because another worker owns the job now.
 */
export function holdingProcessor(
  held: HeldJobs,
  store: BlobStore,
  workerOf: () => Worker,
  processor: Processor,
): Processor {
  return (job, token, signal) => {
    const id = String(job.id);
    return held.track(workerOf(), job, token ?? '', async () => {
      if (job.attemptsStarted > 1) await store.removePrefix(`${jobPrefix(id)}outputs/`);
      try {
        return await processor(job, token, signal);
      } catch (err) {
        if (held.released(id)) throw new Error(`job ${id} was given up by this worker`, { cause: err });
        throw err;
      }
    });
  };
}
