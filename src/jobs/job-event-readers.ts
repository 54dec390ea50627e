import { QueueEvents } from 'bullmq';
import type { EventEmitter } from 'node:events';
import { createRedis } from '../redis/redis-connection';
import type { RedisTarget } from '../redis/redis-target';
import type { RedisErrorLog } from '../redis/redis-reconnect';
import { JOB_EVENT_NAMES } from './job-event';
import type { JobQueues } from './job-queues';

/** The job event hub's readers (job-event-hub.ts): one QueueEvents reader per queue, started on first use. */
export interface QueueEventReaders {
  /** The queue's reader, started now if it is not yet (retried by the next caller if starting fails). */
  ensure(queue: string): Promise<QueueEvents>;
  close(): Promise<void>;
}

export function createQueueEventReaders({
  queues,
  target,
  redisErrors,
  newestId,
  dispatch,
}: {
  queues: JobQueues;
  target: RedisTarget;
  redisErrors: RedisErrorLog;
  /** The id of the newest entry of the queue's event stream. */
  newestId: (queue: string) => Promise<string>;
  /** Hears every event of every queue read. */
  dispatch: (id: string, fields: Record<string, unknown>) => void;
}): QueueEventReaders {
  // BullMQ duplicates this for each reader; it never connects itself.
  const template = createRedis(target, 'subscriber', { lazyConnect: true });
  const readers = new Map<string, Promise<QueueEvents>>();

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

  return {
    ensure(queue) {
      let reader = readers.get(queue);
      if (!reader) {
        reader = startReader(queue);
        readers.set(queue, reader);
        reader.catch(() => readers.delete(queue)); // retried by the next subscriber
      }
      return reader;
    },

    async close() {
      const started = await Promise.allSettled(readers.values());
      readers.clear();
      await Promise.all(
        started.map((r) => (r.status === 'fulfilled' ? r.value.close().catch(() => undefined) : undefined)),
      );
      template.disconnect();
    },
  };
}
