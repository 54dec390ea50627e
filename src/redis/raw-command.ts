import { Cluster } from 'ioredis';
import type { RedisClient } from './redis-connection';

/**
 * Sends a command given as words, for libraries that speak Redis through a callback
 * (rate-limit-redis). On a Cluster a keyed command goes to the master of its key's slot, but a
 * script would be loaded on one node picked at random: SCRIPT commands go to every master, so an
 * EVALSHA finds its script wherever its key lives.
 */
export async function sendRawCommand(redis: RedisClient, command: string, ...args: string[]): Promise<unknown> {
  if (redis instanceof Cluster && command.toUpperCase() === 'SCRIPT') {
    const replies = await Promise.all(redis.nodes('master').map((node) => node.call(command, ...args)));
    return replies[0];
  }
  return redis.call(command, ...args);
}
