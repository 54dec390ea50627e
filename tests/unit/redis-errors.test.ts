import { isRedisUnreachable } from '../../src/redis/redis-errors';

test('replies of a server in the middle of a failover count as Redis unreachable (503), other errors do not', () => {
  for (const message of [
    "READONLY You can't write against a read only replica.",
    'LOADING Redis is loading the dataset in memory',
    'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.',
    'NOREPLICAS Not enough good replicas to write.',
    'CLUSTERDOWN The cluster is down',
    'TRYAGAIN Multiple keys request during rehashing of slot',
    'All sentinels are unreachable. Retrying from scratch after 10ms. Last error: Connection is closed.',
    "Cluster isn't ready and enableOfflineQueue options is false",
  ])
    expect({ message, unreachable: isRedisUnreachable(new Error(message)) }).toEqual({ message, unreachable: true });
  for (const message of [
    'ERR unknown command',
    'WRONGTYPE Operation against a key holding the wrong kind of value',
    "CROSSSLOT Keys in request don't hash to the same slot",
    'READONLYISH is not a reply',
  ])
    expect({ message, unreachable: isRedisUnreachable(new Error(message)) }).toEqual({ message, unreachable: false });
});
