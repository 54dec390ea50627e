import type { RedisClient } from '../../src/redis/redis-connection';
import type { RedisSettings } from '../../src/config';
import type { Logger } from '../../src/logger';
import { checkRedisPolicy, createRedis } from '../../src/redis/redis-connection';
import type { RedisErrorLog } from '../../src/redis/redis-reconnect';
import { resource, type Component, type Resource } from './component';

/** The process's ordinary connection: jobs' own reads and writes, heartbeats, metrics, hand-backs. */
export function mainRedis(settings: RedisSettings, logger: Logger, redisErrors: RedisErrorLog): Resource<RedisClient> {
  return resource(
    'redis',
    () => {
      const redis = redisErrors.watch(createRedis(settings.target, 'worker'));
      void checkRedisPolicy(redis).then(
        (warning) => warning && logger.warn(warning),
        // Redis not reachable yet: the reconnect log says so; only this advisory check is lost.
        (err: Error) => logger.debug({ err: err.message }, 'could not check the Redis eviction policy'),
      );
      return redis;
    },
    (redis) => redis.disconnect(),
  );
}

/** The BullMQ workers' own connections: one each, since BullMQ leaves a connection it was given open when it closes. */
export interface WorkerConnections extends Component {
  open(): RedisClient;
  /** Disconnects one (its worker has closed). */
  close(connection: RedisClient): void;
}

export function workerConnections(settings: RedisSettings, redisErrors: RedisErrorLog): WorkerConnections {
  const open = new Set<RedisClient>();
  return {
    name: 'worker connections',
    async start() {
      // Nothing to open yet: each worker opens its connection as it starts.
    },
    async stop() {
      for (const connection of open) connection.disconnect();
      open.clear();
    },
    open() {
      const connection = redisErrors.watch(createRedis(settings.target, 'worker'));
      open.add(connection);
      return connection;
    },
    close(connection) {
      connection.disconnect();
      open.delete(connection);
    },
  };
}
