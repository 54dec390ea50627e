import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { reconnectDelay } from './redis-reconnect';
import type { RedisClient, RedisTarget } from './redis-target';

/** What a connection is for decides how it behaves while Redis is down. */
export type ConnectionRole = 'api' | 'worker' | 'subscriber';

export type { RedisClient } from './redis-target';

/**
 * A primary that became a replica in a failover answers writes with READONLY: reconnect (through
 * the sentinels, to the new primary) and resend the command.
 */
const reconnectOnReadonly = (err: Error) => (err.message.startsWith('READONLY') ? 2 : false);

/** Per role: API connections fail fast while Redis is unreachable (so requests get a 503 instead of hanging). */
function roleOptions(role: ConnectionRole): RedisOptions {
  if (role === 'api') return { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 };
  return { maxRetriesPerRequest: null };
}

/**
 * The one place darkroom's Redis connections are made, for every kind of Redis the config names.
 * Worker and subscriber connections wait and reconnect forever, as BullMQ workers require; every
 * kind follows a failover: Sentinel connections ask the sentinels for the primary on each
 * reconnect, Cluster connections follow MOVED redirections and refresh the slot map.
 */
export function createRedis(target: RedisTarget | string, role: ConnectionRole, extra: RedisOptions = {}): RedisClient {
  const t: RedisTarget = typeof target === 'string' ? { kind: 'standalone', url: target } : target;
  const common: RedisOptions = {
    connectionName: `darkroom-${role}`,
    retryStrategy: (times) => reconnectDelay(times),
    reconnectOnError: reconnectOnReadonly,
    ...roleOptions(role),
    ...extra,
  };
  if (t.kind === 'standalone') return new Redis(t.url, common);
  if (t.kind === 'sentinel') {
    return new Redis({
      ...common,
      sentinels: t.sentinels,
      name: t.masterName,
      role: 'master',
      sentinelPassword: t.sentinelPassword,
      password: t.password,
    });
  }
  const { enableOfflineQueue, lazyConnect, retryStrategy, ...redisOptions } = common;
  return new Cluster(t.nodes, {
    redisOptions: { ...redisOptions, password: t.password },
    enableOfflineQueue,
    lazyConnect,
    clusterRetryStrategy: retryStrategy ? (times) => retryStrategy(times) : undefined,
  });
}

/** Resolves once the connection is ready, or rejects after `timeoutMs`. */
export async function waitForReady(redis: RedisClient, timeoutMs = 10_000): Promise<void> {
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
export async function checkRedisPolicy(redis: RedisClient): Promise<string | undefined> {
  const reply = (await redis.config('GET', 'maxmemory-policy').catch(() => [])) as string[];
  const policy = reply[1];
  if (policy && policy !== 'noeviction') {
    return `Redis maxmemory-policy is "${policy}": Redis may evict queued jobs under memory pressure; set it to "noeviction"`;
  }
  return undefined;
}
