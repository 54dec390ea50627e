import type { RedisClient } from '../redis/redis-connection';

/**
 * Cancel requests reach every worker process: a Redis key marks the job (so a worker that takes a
 * queued job later sees it) and a pub/sub message tells the process running it right now.
 * BullMQ's own cancelJob only reaches the process that holds the job.
 */
export const cancelChannel = (prefix: string) => `${prefix}:cancel`;
const cancelKey = (prefix: string, id: string) => `${prefix}:cancel:${id}`;

/** Marks a job canceled and notifies all workers. */
export async function requestCancel(redis: RedisClient, prefix: string, id: string, ttlSeconds: number): Promise<void> {
  await redis.multi().set(cancelKey(prefix, id), '1', 'EX', ttlSeconds).publish(cancelChannel(prefix), id).exec();
}

export async function isCancelRequested(redis: RedisClient, prefix: string, id: string): Promise<boolean> {
  return (await redis.exists(cancelKey(prefix, id))) === 1;
}

/** Calls `onCancel(jobId)` for every cancel request; returns a function that unsubscribes. */
export async function subscribeToCancels(
  subscriber: RedisClient,
  prefix: string,
  onCancel: (id: string) => void,
): Promise<() => Promise<void>> {
  const channel = cancelChannel(prefix);
  const listener = (ch: string, message: string) => {
    if (ch === channel) onCancel(message);
  };
  subscriber.on('message', listener);
  await subscriber.subscribe(channel);
  return async () => {
    subscriber.off('message', listener);
    await subscriber.unsubscribe(channel);
  };
}
