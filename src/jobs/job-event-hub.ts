import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/redis-connection';
import { setMaxListeners } from 'node:events';
import type { RedisTarget } from '../redis/redis-target';
import { newestEventId, oldestEventId, readEvents } from './bullmq-internals';
import type { RedisErrorLog } from '../redis/redis-reconnect';
import { compareStreamIds, nextStreamId, toJobEvent, type JobEvent } from './job-event';
import { createQueueEventReaders } from './job-event-readers';
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
  const listeners = new Map<string, Set<(event: JobEvent) => void>>();
  const closing = new AbortController();
  // Every open `Prefer: wait` and event stream listens for the hub closing: one listener each, by
  // design, so many clients at once are not the leak Node warns of past 10.
  setMaxListeners(0, closing.signal);

  const queueOf = jobQueueLocator(queues);
  const newestId = (queue: string) => newestEventId(redis, queues.queue(queue));

  const dispatch = (id: string, fields: Record<string, unknown>) => {
    const subscribers = listeners.get(String(fields.jobId));
    if (!subscribers) return;
    const event = toJobEvent(id, fields);
    if (event) for (const listener of subscribers) listener(event);
  };
  const readers = createQueueEventReaders({ queues, target, redisErrors, newestId, dispatch });

  return {
    async subscribe(jobId, listener) {
      if (closing.signal.aborted) throw new Error('the job event hub is closed');
      await readers.ensure(await queueOf(jobId));
      let set = listeners.get(jobId);
      if (!set) listeners.set(jobId, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (!set.size && listeners.get(jobId) === set) listeners.delete(jobId);
      };
    },

    latestId: async (jobId) => newestId(await queueOf(jobId)),

    replay: async (jobId, afterId) => replayJobEvents(redis, queues.queue(await queueOf(jobId)), jobId, afterId),

    closing: closing.signal,

    async close() {
      closing.abort();
      listeners.clear();
      await readers.close();
    },
  };
}

/** Where each job is: a job stays in the queue it was added to (its model's), so it can be remembered. */
function jobQueueLocator(queues: JobQueues): (jobId: string) => Promise<string> {
  const located = new Map<string, string>();
  return async (jobId) => {
    const known = located.get(jobId);
    if (known) return known;
    const queue = await queues.locate(jobId);
    if (!queue) throw new Error(`no queue holds job ${jobId}`);
    if (located.size > 10_000) located.clear();
    located.set(jobId, queue);
    return queue;
  };
}

/** The job's events after `afterId` in its queue's stream, oldest first; undefined when the stream no longer reaches back that far. */
async function replayJobEvents(
  redis: RedisClient,
  queue: Queue,
  jobId: string,
  afterId: string,
): Promise<JobEvent[] | undefined> {
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
}
