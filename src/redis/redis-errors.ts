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
]);

/** Whether `err` means "Redis is unreachable right now" (rather than a bad command or reply). */
export function isRedisUnreachable(err: unknown): boolean {
  if (err instanceof MaxRetriesPerRequestError || err instanceof ConnectionClosedError) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (code !== undefined && NETWORK_CODES.has(code)) || UNTYPED_IOREDIS_MESSAGES.has(err.message);
}
