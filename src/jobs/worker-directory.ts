import type { RedisClient } from '../redis/redis-connection';

/**
 * Which worker processes are alive: each writes a heartbeat key that expires (`<prefix>:workers:<id>`)
 * and its id into an index set, so readers never scan the keyspace. Ids whose heartbeat has
 * expired are dropped from the index by the next reader.
 */
export const heartbeatKey = (prefix: string, id: string) => `${prefix}:workers:${id}`;
const indexKey = (prefix: string) => `${prefix}:worker-index`;

/** The parts of a worker's heartbeat the API reads. */
export interface WorkerHeartbeat {
  id: string;
  queues: string[];
  /** Jobs it runs at once per queue (absent in heartbeats of older workers: counted as 1). */
  concurrency?: number;
  models: { name: string; provider: string }[];
  /** Models it takes jobs for (absent in heartbeats of older workers). */
  serves?: string[];
  /** Models it holds in memory now, and the MB they take. */
  loaded?: string[];
  resident_mb?: number;
}

/** Writes a worker's heartbeat (expiring after `ttlSeconds`) and keeps it in the index. */
export async function writeHeartbeat(
  redis: RedisClient,
  prefix: string,
  id: string,
  info: WorkerHeartbeat & Record<string, unknown>,
  ttlSeconds: number,
): Promise<void> {
  await redis
    .multi()
    .set(heartbeatKey(prefix, id), JSON.stringify(info), 'EX', ttlSeconds)
    .sadd(indexKey(prefix), id)
    .exec();
}

/** Removes a stopping worker's heartbeat. */
export async function removeHeartbeat(redis: RedisClient, prefix: string, id: string): Promise<void> {
  await redis.multi().del(heartbeatKey(prefix, id)).srem(indexKey(prefix), id).exec();
}

/** The execution provider a worker runs on: its models' providers, e.g. `cpu` or `cuda+cpu` when they differ; `none` without models. */
export function providerOf(worker: WorkerHeartbeat): string {
  const providers = [...new Set(worker.models.map((m) => m.provider))].sort();
  return providers.length ? providers.join('+') : 'none';
}

export interface WorkerDirectory {
  /** Live workers, read at most once per `maxAgeMs`. */
  list(): Promise<WorkerHeartbeat[]>;
  /** Jobs of `queue` the live workers can run at once. */
  slots(queue: string): Promise<number>;
}

export function createWorkerDirectory(redis: RedisClient, prefix: string, maxAgeMs = 2000): WorkerDirectory {
  let cached: { at: number; workers: Promise<WorkerHeartbeat[]> } | undefined;

  const read = async (): Promise<WorkerHeartbeat[]> => {
    const ids = await redis.smembers(indexKey(prefix));
    if (!ids.length) return [];
    const beats = await redis.mget(ids.map((id) => heartbeatKey(prefix, id)));
    const gone = ids.filter((_, i) => beats[i] === null);
    if (gone.length) await redis.srem(indexKey(prefix), ...gone);
    return beats.flatMap((text) => {
      if (text === null) return [];
      try {
        const beat = JSON.parse(text) as WorkerHeartbeat;
        return [{ ...beat, queues: beat.queues ?? [], models: beat.models ?? [] }];
      } catch {
        return [];
      }
    });
  };

  const list = () => {
    if (!cached || Date.now() - cached.at > maxAgeMs) {
      const workers = read();
      cached = { at: Date.now(), workers };
      workers.catch(() => (cached = undefined));
    }
    return cached.workers;
  };

  return {
    list,
    async slots(queue) {
      return (await list()).filter((w) => w.queues.includes(queue)).reduce((sum, w) => sum + (w.concurrency ?? 1), 0);
    },
  };
}
