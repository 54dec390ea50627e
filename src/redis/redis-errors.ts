import { ConnectionClosedError, CONNECTION_CLOSED_ERROR_MSG } from 'bullmq';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';

/** Node's codes for a socket to Redis that could not connect or was cut. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOTCONN',
]);

/**
 * ioredis 6 rejects a command on a closed connection, and (with enableOfflineQueue off, as API
 * connections are) one sent while it reconnects, with a plain Error: these exact messages are the
 * only mark it gives them (it exports no class for either; BullMQ mirrors the first as a constant).
 */
const UNTYPED_IOREDIS_MESSAGES = new Set([
  CONNECTION_CLOSED_ERROR_MSG,
  "Stream isn't writeable and enableOfflineQueue options is false",
  // A Redis Cluster connection between two maps of its nodes, or with none answering.
  "Cluster isn't ready and enableOfflineQueue options is false",
  'None of startup nodes is available',
  'Failed to refresh slots cache.',
  'Cluster is disconnected.',
]);

/**
 * Replies of a server in the middle of a failover: a demoted primary (READONLY), a replica still
 * loading (LOADING), one cut off from its primary (MASTERDOWN), a primary with too few replicas
 * for `min-replicas-to-write` (NOREPLICAS), a Cluster with slots unserved (CLUSTERDOWN) or
 * resharding (TRYAGAIN). All pass once the failover ends, so callers retry them as an outage.
 */
const FAILOVER_REPLY = /^(READONLY|LOADING|MASTERDOWN|NOREPLICAS|CLUSTERDOWN|TRYAGAIN) /;

/** The sentinel connector's "All sentinels are unreachable. Retrying from scratch after ..." */
const SENTINELS_UNREACHABLE = /^All sentinels are unreachable/;

/** Whether `err` means "Redis is unreachable right now" (rather than a bad command or reply). */
export function isRedisUnreachable(err: unknown): boolean {
  if (err instanceof MaxRetriesPerRequestError || err instanceof ConnectionClosedError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (
    (code !== undefined && NETWORK_CODES.has(code)) ||
    UNTYPED_IOREDIS_MESSAGES.has(err.message) ||
    FAILOVER_REPLY.test(err.message) ||
    SENTINELS_UNREACHABLE.test(err.message) ||
    err.name === 'ClusterAllFailedError'
  );
}
