import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { ANONYMOUS } from '../auth/api-keys';
import { AppError } from '../errors';
import { sendRawCommand } from '../redis/raw-command';
import type { AppDeps } from './app-deps';
import { principalOf } from './api-key-auth';

/** One per-minute limit: what it counts (for its Redis keys and the 429 message) and how many. */
interface MinuteLimit {
  /** Redis key segment after `<prefix>:ratelimit:`; empty for submissions, whose keys predate the others. */
  name: string;
  /** Plural noun for the 429 message, e.g. "submissions". */
  counts: string;
  limit: (deps: AppDeps) => number;
  /** Requests that do not count. */
  skip?: (req: Request) => boolean;
}

/** Whom a per-client limit counts: the API key, or the client's address when the API runs open. */
export function clientKeyOf(req: Request): string {
  const who = principalOf(req);
  // An IPv6 client owns a whole prefix: count its /56, or it could rotate addresses past the limit.
  return who === ANONYMOUS ? `ip:${ipKeyGenerator(req.ip ?? '')}` : `key:${who}`;
}

/**
 * Submissions per minute per API key (per client address when the API runs open), counted in
 * Redis so every API instance shares the window. Only POSTs count: polling is cheap.
 */
export const submissionRateLimit = (deps: AppDeps) =>
  perMinuteLimit(deps, {
    name: '',
    counts: 'submissions',
    limit: (d) => d.config.limits.ratePerMinute,
    skip: (req) => req.method !== 'POST',
  });

/** Zip downloads (job and batch archives) per minute per key: each one reads and streams every file of a job. */
export const downloadRateLimit = (deps: AppDeps) =>
  perMinuteLimit(deps, {
    name: 'download:',
    counts: 'zip downloads',
    limit: (d) => d.config.limits.downloadRatePerMinute,
  });

function perMinuteLimit(deps: AppDeps, spec: MinuteLimit): RequestHandler {
  // The store loads a script into Redis when it is made, and the API's connection does not queue
  // commands while it connects: so make it on first use (behind requireRedis), and again after a
  // Redis failure, which may have lost the script.
  let limiter: RequestHandler | undefined;
  return (req, res, next) => {
    limiter ??= createLimiter(deps, spec);
    limiter(req, res, (err?: unknown) => {
      if (err) limiter = undefined;
      next(err);
    });
  };
}

function createLimiter(deps: AppDeps, spec: MinuteLimit): RequestHandler {
  const { redis, config } = deps;
  const limit = spec.limit(deps);
  return rateLimit({
    windowMs: 60_000,
    limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: spec.skip,
    // Made on first use on purpose (see perMinuteLimit); the counts live in Redis, not in the
    // instance, which is what this check guards against.
    validate: { creationStack: false },
    keyGenerator: clientKeyOf,
    store: new RedisStore({
      prefix: `${config.redis.prefix}:ratelimit:${spec.name}`,
      sendCommand: (command: string, ...args: string[]) =>
        sendRawCommand(redis, command, ...args) as Promise<RedisReply>,
    }),
    handler: (_req, _res, next, options) => {
      const retryAfter = Math.ceil(options.windowMs / 1000);
      next(
        new AppError(429, 'rate_limited', `more than ${limit} ${spec.counts} per minute`, undefined, {
          'Retry-After': String(retryAfter),
        }),
      );
    },
  });
}
