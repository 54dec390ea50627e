/**
 * Which Redis darkroom talks to: one server (REDIS_URL), a primary found through Sentinel
 * (REDIS_SENTINELS, REDIS_SENTINEL_MASTER) or a Redis Cluster (REDIS_CLUSTER_NODES). The config
 * builds one of these; the connection factory (redis-connection.ts) turns it into connections.
 */

import type { Cluster, Redis } from 'ioredis';

/** A connection to one server (plain or found through Sentinel) or to a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export interface HostPort {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | {
      kind: 'sentinel';
      sentinels: HostPort[];
      /** The name the sentinels monitor the primary under (`sentinel monitor <name> ...`). */
      masterName: string;
      /** AUTH for the sentinels themselves (their `requirepass`). */
      sentinelPassword?: string;
      /** AUTH for the primary and its replicas. */
      password?: string;
    }
  | { kind: 'cluster'; nodes: HostPort[]; password?: string };

/** `host:port,host:port` -> entries; throws with a message naming the bad entry. IPv6 hosts go in brackets. */
export function parseHostPorts(list: string): HostPort[] {
  const entries = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!entries.length) throw new Error('expected host:port[,host:port...]');
  return entries.map((entry) => {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(entry);
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65535) throw new Error(`"${entry}" is not host:port`);
    return { host: m[1] ?? m[2], port };
  });
}

/** How logs name the target: never a password. */
export function describeRedis(target: RedisTarget): string {
  const list = (nodes: HostPort[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if (target.kind === 'standalone') return target.url;
  if (target.kind === 'sentinel') return `sentinel ${target.masterName} via ${list(target.sentinels)}`;
  return `cluster ${list(target.nodes)}`;
}
