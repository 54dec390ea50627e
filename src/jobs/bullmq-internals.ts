import type { QueueBase, Worker } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../redis/redis-connection';

/**
 * Everything darkroom assumes about BullMQ's private Redis layout, in one place: which list or
 * sorted set holds a queue's waiting and running jobs, the marker that wakes idle workers, the
 * job hash's fields, the event stream's entries, and a worker's blocking connection. None of it is
 * public API, so tests/integration/bullmq-internals.test.ts pins each assumption to the installed
 * BullMQ version; an upgrade that breaks one fails there first.
 */

/** A BullMQ Queue or Worker: both carry the queue's key names. */
export type QueueKeysOf = Pick<QueueBase, 'keys' | 'toKey'>;

/** Jobs waiting to be taken: plain ones sit in the `wait` list, prioritized ones (every API job) in the `prioritized` sorted set. */
export async function waitingCount(redis: RedisClient, queue: QueueKeysOf): Promise<number> {
  const [plain, prioritized] = await Promise.all([redis.llen(queue.keys.wait), redis.zcard(queue.keys.prioritized)]);
  return plain + prioritized;
}

/**
 * Jobs ahead of a waiting job in its queue (0: next to start), or undefined when it is not there.
 * BullMQ pushes plain jobs on the head of `wait` and takes them from its tail, and takes them
 * before prioritized ones, which it takes by score: LPOS from the tail (work grows with the jobs
 * ahead, not with the queue) or ZRANK (O(log n)), in one round trip.
 */
export async function placeInLine(
  redis: RedisClient,
  queue: QueueKeysOf,
  jobId: string,
  state: 'waiting' | 'prioritized',
): Promise<number | undefined> {
  const tx = redis.multi().llen(queue.keys.wait);
  if (state === 'waiting') tx.lpos(queue.keys.wait, jobId, 'RANK', -1);
  else tx.zrank(queue.keys.prioritized, jobId);
  const [[, waiting], [, place]] = ((await tx.exec()) ?? []) as [unknown, unknown][];
  if (typeof place !== 'number') return undefined;
  return state === 'waiting' ? Number(waiting) - 1 - place : Number(waiting) + place;
}

/** Adds to `tx` a read of the ids of the queue's running jobs (the `active` list), at most `max`. */
export function readRunningIds(tx: ChainableCommander, queue: QueueKeysOf, max: number): ChainableCommander {
  return tx.lrange(queue.keys.active, 0, max - 1);
}

/** The job hash fields the ETAs read: progress (JSON), processedOn (epoch ms) and data (JSON), in that order. */
export const RUNNING_JOB_FIELDS = ['progress', 'processedOn', 'data'] as const;

/** Adds to `tx` a read of a job's RUNNING_JOB_FIELDS from its hash. */
export function readJobFields(tx: ChainableCommander, queue: QueueKeysOf, jobId: string): ChainableCommander {
  return tx.hmget(queue.toKey(jobId), ...RUNNING_JOB_FIELDS);
}

/**
 * Wakes the queue's idle workers: they block on the `marker` sorted set, and BullMQ files a
 * prioritized job moved back to waiting without a marker (they would see it only after their block
 * timeout, 5 s). Adds one as BullMQ's own scripts do.
 */
export async function wakeIdleWorkers(redis: RedisClient, queue: QueueKeysOf): Promise<void> {
  await redis.zadd(queue.keys.marker, 0, '0');
}

/**
 * ioredis status of a worker's dedicated blocking connection (`ready` when healthy); undefined
 * when it has none, or while the connection is first set up for longer than `waitMs` (no verdict).
 */
export async function blockingConnectionStatus(worker: Worker, waitMs = 1000): Promise<string | undefined> {
  const client = worker.getBackend().blockingClient;
  if (!client) return undefined;
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), waitMs).unref());
  return Promise.race([
    client.then(
      (c) => c.status,
      () => 'failed',
    ),
    timeout,
  ]);
}

/** One entry of a queue's event stream: `event` names it, `jobId` its job, other fields are the event's. */
export interface EventStreamEntry {
  id: string;
  fields: Record<string, string>;
}

const fieldsOf = (flat: string[]): Record<string, string> => {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
};

/** The id of the newest entry of the queue's event stream; `0-0` when it is empty. */
export async function newestEventId(redis: RedisClient, queue: QueueKeysOf): Promise<string> {
  const [newest] = await redis.xrevrange(queue.keys.events, '+', '-', 'COUNT', 1);
  return newest ? newest[0] : '0-0';
}

/** The id of the oldest entry still in the stream (BullMQ trims it to about 10,000); undefined when empty. */
export async function oldestEventId(redis: RedisClient, queue: QueueKeysOf): Promise<string | undefined> {
  const [oldest] = await redis.xrange(queue.keys.events, '-', '+', 'COUNT', 1);
  return oldest?.[0];
}

/** Up to `count` entries of the event stream from `startId` (inclusive), oldest first. */
export async function readEvents(
  redis: RedisClient,
  queue: QueueKeysOf,
  startId: string,
  count: number,
): Promise<EventStreamEntry[]> {
  const page = await redis.xrange(queue.keys.events, startId, '+', 'COUNT', count);
  return page.map(([id, flat]) => ({ id, fields: fieldsOf(flat) }));
}
