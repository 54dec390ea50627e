import { QueueEvents } from 'bullmq';
import type { RedisClient } from '../redis/redis-connection';
import { setMaxListeners, type EventEmitter } from 'node:events';
import { createRedis } from '../redis/redis-connection';
import type { RedisTarget } from '../redis/redis-target';
import { newestEventId, oldestEventId, readEvents } from './bullmq-internals';
import type { RedisErrorLog } from '../redis/redis-reconnect';
import { compareStreamIds, JOB_EVENT_NAMES, nextStreamId, toJobEvent, type JobEvent } from './job-event';
import type { JobQueues } from './job-queues';

/**
 * Live job events for the API, from BullMQ's per-queue event stream in Redis, so they reach the
 * API whichever process or machine the worker runs on. One QueueEvents reader (one blocking
 * connection) per queue, started on first use and shared by every subscriber in this process.
 */
export interface JobEventHub {
  /** Calls `listener` with each later event of the job; resolves, once the queue is being read, with the function that stops it. */
  subscribe(jobId: string, listener: (event: JobEvent) => void): Promise<() => void>;
  /** The id of the newest entry of the job's queue stream (`0-0` when empty): every later event has a greater id. */
  latestId(jobId: string): Promise<string>;
  /** The job's events after `afterId`, oldest first; undefined when the stream (trimmed to BullMQ's 10,000 entries) no longer reaches back that far. */
  replay(jobId: string, afterId: string): Promise<JobEvent[] | undefined>;
  /** Aborts when the hub closes: open streams and waits end then. */
  readonly closing: AbortSignal;
  close(): Promise<void>;
}

export interface JobEventHubDeps {
  redis: RedisClient;
  queues: JobQueues;
  /** Where the readers connect. */
  target: RedisTarget;
  /** Hears the readers' errors: their connections are BullMQ's copies of the template, not watched ones. */
  redisErrors: RedisErrorLog;
}

/** Stream entries read per XRANGE while replaying, and at most in all (the stream holds about 10,000). */
const PAGE = 500;
const MAX_REPLAY_ENTRIES = 20_000;

export function createJobEventHub({ redis, queues, target, redisErrors }: JobEventHubDeps): JobEventHub {
  // BullMQ duplicates this for each reader; it never connects itself.
  const template = createRedis(target, 'subscriber', { lazyConnect: true });
  const readers = new Map<string, Promise<QueueEvents>>();
  const listeners = new Map<string, Set<(event: JobEvent) => void>>();
  const closing = new AbortController();
  // Every open `Prefer: wait` and event stream listens for the hub closing: one listener each, by
  // design, so many clients at once are not the leak Node warns of past 10.
  setMaxListeners(0, closing.signal);

  // A job stays in the queue it was added to (its model's), so where it is can be remembered.
  const located = new Map<string, string>();
  const queueOf = async (jobId: string): Promise<string> => {
    const known = located.get(jobId);
    if (known) return known;
    const queue = await queues.locate(jobId);
    if (!queue) throw new Error(`no queue holds job ${jobId}`);
    if (located.size > 10_000) located.clear();
    located.set(jobId, queue);
    return queue;
  };
  const newestId = (queue: string) => newestEventId(redis, queues.queue(queue));

  const dispatch = (id: string, fields: Record<string, unknown>) => {
    const subscribers = listeners.get(String(fields.jobId));
    if (!subscribers) return;
    const event = toJobEvent(id, fields);
    if (event) for (const listener of subscribers) listener(event);
  };

  const startReader = async (queue: string): Promise<QueueEvents> => {
    // Start at the stream's current end, not at '$' when XREAD first runs, so nothing between a subscriber's snapshot and the first read is lost.
    const lastEventId = await newestId(queue);
    const reader = new QueueEvents(queue, { connection: template, prefix: queues.policy.prefix, lastEventId });
    reader.on('error', (err) => redisErrors.report(err, { queue }, 'job event reader error'));
    for (const name of JOB_EVENT_NAMES) {
      (reader as unknown as EventEmitter).on(name, (args: Record<string, unknown>, id: string) =>
        dispatch(id, { ...args, event: name }),
      );
    }
    return reader;
  };

  const ensureReader = (queue: string) => {
    let reader = readers.get(queue);
    if (!reader) {
      reader = startReader(queue);
      readers.set(queue, reader);
      reader.catch(() => readers.delete(queue)); // retried by the next subscriber
    }
    return reader;
  };

  return {
    async subscribe(jobId, listener) {
      if (closing.signal.aborted) throw new Error('the job event hub is closed');
      await ensureReader(await queueOf(jobId));
      let set = listeners.get(jobId);
      if (!set) listeners.set(jobId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (!set.size && listeners.get(jobId) === set) listeners.delete(jobId);
      };
    },

    latestId: async (jobId) => newestId(await queueOf(jobId)),

    async replay(jobId, afterId) {
      const queue = queues.queue(await queueOf(jobId));
      const oldest = await oldestEventId(redis, queue);
      // Entries after `afterId` may have been trimmed away: the caller starts over from a snapshot.
      if (oldest && compareStreamIds(oldest, afterId) > 0) return undefined;
      const events: JobEvent[] = [];
      let start = nextStreamId(afterId);
      for (let read = 0; read < MAX_REPLAY_ENTRIES; read += PAGE) {
        const page = await readEvents(redis, queue, start, PAGE);
        for (const { id, fields } of page) {
          if (fields.jobId !== jobId) continue;
          const event = toJobEvent(id, fields);
          if (event) events.push(event);
        }
        if (page.length < PAGE) break;
        start = nextStreamId(page[page.length - 1].id);
      }
      return events;
    },

    closing: closing.signal,

    async close() {
      closing.abort();
      listeners.clear();
      const started = await Promise.allSettled(readers.values());
      readers.clear();
      await Promise.all(
        started.map((r) => (r.status === 'fulfilled' ? r.value.close().catch(() => undefined) : undefined)),
      );
      template.disconnect();
    },
  };
}
