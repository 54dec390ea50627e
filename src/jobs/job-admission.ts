import type { RedisClient } from '../redis/redis-connection';
import { AppError } from '../errors';
import type { JobQueues } from './job-queues';

/**
 * Who may add how much work, and in what order it runs. Each key's jobs in flight are a Redis set
 * (added by the API, removed by workers when a job ends, pruned lazily here, so a lost removal
 * heals itself). Fair scheduling without BullMQ's paid groups: a job's priority is 1 + the number
 * of jobs its key already has in flight, so one key's backlog of 10,000 sits behind every other
 * key's first job instead of in front of it.
 */
const inFlightKey = (prefix: string, owner: string) => `${prefix}:inflight:${owner}`;

/** BullMQ priorities are 1..2^21; lower runs first. */
const MAX_PRIORITY = 2 ** 21 - 1;

export interface AdmissionPolicy {
  prefix: string;
  maxInFlightPerKey: number;
  maxQueueDepth: number;
}

/**
 * Removes ids whose jobs have ended (or expired) from a key's in-flight set; returns the live
 * count. It looks up every id, so it runs at most once per PRUNE_INTERVAL_S per key: a client
 * hammering a full quota must not turn each refused request into thousands of lookups.
 */
const PRUNE_INTERVAL_S = 5;
async function prune(redis: RedisClient, queues: JobQueues, key: string): Promise<number> {
  if (!(await redis.set(`${key}:pruned`, '1', 'EX', PRUNE_INTERVAL_S, 'NX'))) return redis.scard(key);
  const ids = await redis.smembers(key);
  const ended = (
    await Promise.all(
      ids.map(async (id) => {
        const job = await queues.getJob(id);
        const state = job ? await job.getState() : 'unknown';
        return state === 'completed' || state === 'failed' || state === 'unknown' ? id : undefined;
      }),
    )
  ).filter((id): id is string => id !== undefined);
  if (ended.length) await redis.srem(key, ...ended);
  return ids.length - ended.length;
}

/** Checks quotas for `count` new jobs of `owner` in `queue`; returns the priority they get. */
export async function admitJobs(
  redis: RedisClient,
  queues: JobQueues,
  policy: AdmissionPolicy,
  owner: string,
  queue: string,
  count: number,
): Promise<number> {
  const key = inFlightKey(policy.prefix, owner);
  // Both reads in one round trip; the queue's depth is read even when the quota refuses.
  const [inFlightNow, counts] = await Promise.all([
    redis.scard(key),
    queues.queue(queue).getJobCounts('waiting', 'prioritized', 'delayed'),
  ]);
  let inFlight = inFlightNow;
  if (inFlight + count > policy.maxInFlightPerKey) inFlight = await prune(redis, queues, key);
  if (inFlight + count > policy.maxInFlightPerKey) {
    throw new AppError(
      429,
      'too_many_jobs_in_flight',
      `this key has ${inFlight} jobs queued or running; the limit is ${policy.maxInFlightPerKey}`,
      undefined,
      { 'Retry-After': '10' },
    );
  }
  const depth = Object.values(counts).reduce((a, b) => a + b, 0);
  if (depth + count > policy.maxQueueDepth) {
    throw new AppError(503, 'queue_full', `the ${queue} queue holds ${depth} jobs; try again later`, undefined, {
      'Retry-After': '30',
    });
  }
  return Math.min(MAX_PRIORITY, inFlight + 1);
}

/** Records jobs as in flight for their owner. */
export async function trackJobs(redis: RedisClient, prefix: string, owner: string, ids: string[]): Promise<void> {
  if (ids.length) await redis.sadd(inFlightKey(prefix, owner), ...ids);
}

/** Called by workers when a job has ended for good. */
export async function releaseJob(redis: RedisClient, prefix: string, owner: string, id: string): Promise<void> {
  await redis.srem(inFlightKey(prefix, owner), id);
}
