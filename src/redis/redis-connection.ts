import { Redis, type RedisOptions } from 'ioredis';
import { reconnectDelay } from './redis-reconnect';

/** What a connection is for decides how it behaves while Redis is down. */
export type ConnectionRole = 'api' | 'worker' | 'subscriber';

/**
 * API connections fail fast while Redis is unreachable (so requests get a 503 instead of hanging);
 * worker and subscriber connections wait and reconnect forever, as BullMQ workers require.
 */
export function createRedis(url: string, role: ConnectionRole, extra: RedisOptions = {}): Redis {
  const common: RedisOptions = {
    connectionName: `darkroom-${role}`,
    retryStrategy: (times) => reconnectDelay(times),
    ...extra,
  };
  if (role === 'api') {
    return new Redis(url, { ...common, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
  }
  return new Redis(url, { ...common, maxRetriesPerRequest: null });
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitForReady(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/** Warns about Redis settings that lose jobs: BullMQ needs `maxmemory-policy noeviction`. */
export async function checkRedisPolicy(redis: Redis): Promise<string | undefined> {
  const reply = (await redis.config('GET', 'maxmemory-policy').catch(() => [])) as string[];
  const policy = reply[1];
  if (policy && policy !== 'noeviction') {
    return `Redis maxmemory-policy is "${policy}": Redis may evict queued jobs under memory pressure; set it to "noeviction"`;
  }
  return undefined;
}
