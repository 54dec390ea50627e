import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { AppError } from '../errors';
import type { AppDeps } from './app-deps';
import { ANONYMOUS, principalOf } from './api-key-auth';

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
export function submissionRateLimit(deps: AppDeps): RequestHandler {
  // The store loads a script into Redis when it is made, and the API's connection does not queue
  // commands while it connects: so make it on first use (behind requireRedis), and again after a
  // Redis failure, which may have lost the script.
  let limiter: RequestHandler | undefined;
  return (req, res, next) => {
    limiter ??= createLimiter(deps);
    limiter(req, res, (err?: unknown) => {
      if (err) limiter = undefined;
      next(err);
    });
  };
}

function createLimiter({ redis, config }: AppDeps): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: config.RATE_LIMIT_PER_MINUTE,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    skip: (req) => req.method !== 'POST',
    // Made on first use on purpose (see submissionRateLimit); the counts live in Redis, not in the
    // instance, which is what this check guards against.
    validate: { creationStack: false },
    keyGenerator: clientKeyOf,
    store: new RedisStore({
      prefix: `${config.QUEUE_PREFIX}:ratelimit:`,
      sendCommand: (command: string, ...args: string[]) => redis.call(command, ...args) as Promise<RedisReply>,
    }),
    handler: (_req, _res, next, options) => {
      const retryAfter = Math.ceil(options.windowMs / 1000);
      next(new AppError(429, 'rate_limited', `more than ${config.RATE_LIMIT_PER_MINUTE} submissions per minute`, undefined, { 'Retry-After': String(retryAfter) }));
    },
  });
}
