import type { RedisClient } from './redis-target';
import { maskUrlCredentials } from '../log-redaction';
import type { Logger } from '../logger';
import { isRedisUnreachable } from './redis-errors';

/**
 * How every Redis connection of the API and the workers behaves while Redis is unreachable:
 * reconnect with capped exponential backoff, and say so in one line per retry interval instead of
 * one stack trace per failed attempt of every connection (an outage once logged 1,894 lines in 23 s).
 */

const FIRST_RETRY_MS = 200;
const LONGEST_RETRY_MS = 5000;
/** Lines about one outage, and repeats of one other error, are at least this far apart. */
const MIN_LINE_INTERVAL_MS = 1000;
const REPEATED_ERROR_INTERVAL_MS = 10_000;

/** ioredis' retryStrategy: 200 ms doubling to 5 s, +-20% so a fleet of workers does not reconnect in lockstep. */
export function reconnectDelay(attempt: number, random: () => number = Math.random): number {
  const delay = Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempt - 1), LONGEST_RETRY_MS);
  return Math.round(delay * (0.8 + 0.4 * random()));
}

export interface RedisErrorLog {
  /** Follows one of our connections: its failures and reconnects feed the outage lines. Returns it. */
  watch(redis: RedisClient): RedisClient;
  /**
   * An 'error' event of a BullMQ Queue, Worker or QueueEvents (they relay errors of connections
   * they open themselves): "unreachable" joins the outage lines, anything else is logged, repeats
   * of the same message at most every 10 s.
   */
  report(err: unknown, fields: Record<string, unknown>, msg: string): void;
}

/** One per process: every connection to `url` reports here, so an outage reads the same from all of them. */
export function createRedisErrorLog(logger: Logger, url: string, now: () => number = Date.now): RedisErrorLog {
  const redis = maskUrlCredentials(url);
  let downSince: number | undefined;
  let lastError: string | undefined;
  let nextLineAt = 0;
  const repeats = new Map<string, { at: number; suppressed: number }>();

  // Our connections' own errors say why (ECONNREFUSED ...); BullMQ relays mostly "Connection is closed".
  const unreachable = (err: unknown, own: boolean) => {
    downSince ??= now();
    if (own || !lastError) lastError = (err as Error)?.message ?? String(err);
  };
  const reconnecting = (retryInMs: number) => {
    downSince ??= now();
    if (now() < nextLineAt) return;
    nextLineAt = now() + Math.max(retryInMs, MIN_LINE_INTERVAL_MS);
    const err = lastError ?? 'connection closed';
    logger.warn(
      { redis, err, retry_in_ms: retryInMs, down_ms: now() - downSince },
      `redis unreachable at ${redis} (${err}); next retry in ${retryInMs} ms`,
    );
  };
  const ready = () => {
    if (downSince === undefined) return;
    logger.info({ redis, down_ms: now() - downSince }, `redis reachable again at ${redis}`);
    downSince = undefined;
    lastError = undefined;
    nextLineAt = 0;
  };

  return {
    watch(connection) {
      connection.on('error', (err) =>
        isRedisUnreachable(err) ? unreachable(err, true) : logOther(err, {}, 'redis error'),
      );
      connection.on('reconnecting', reconnecting);
      connection.on('ready', ready);
      return connection;
    },
    report(err, fields, msg) {
      if (isRedisUnreachable(err)) unreachable(err, false);
      else logOther(err, fields, msg);
    },
  };

  function logOther(err: unknown, fields: Record<string, unknown>, msg: string) {
    const text = (err as Error)?.message ?? String(err);
    const seen = repeats.get(text);
    if (seen && now() - seen.at < REPEATED_ERROR_INTERVAL_MS) {
      seen.suppressed += 1;
      return;
    }
    repeats.set(text, { at: now(), suppressed: 0 });
    if (repeats.size > 100) repeats.delete(repeats.keys().next().value as string);
    logger.warn({ ...fields, redis, err: text, ...(seen?.suppressed ? { repeated: seen.suppressed } : {}) }, msg);
  }
}
