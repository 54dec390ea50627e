import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import { AppError, errorBody, redisUnavailable } from '../errors';
import type { Logger } from '../logger';
import { isRedisUnreachable } from '../redis/redis-errors';

/** Turns a zod error into the details list: one entry per bad field, path joined with dots. */
export function zodDetails(err: z.ZodError, pathPrefix: (string | number)[] = []) {
  return err.issues.map((i) => ({ field: [...pathPrefix, ...i.path].join('.') || '(body)', message: i.message }));
}

export function validationError(err: z.ZodError, pathPrefix: (string | number)[] = []): AppError {
  const details = zodDetails(err, pathPrefix);
  return new AppError(
    422,
    'validation_error',
    `invalid request: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`,
    details,
  );
}

/** The body of an error response; the OpenAI-compatible route renders its own. */
export type ErrorRenderer = (error: AppError) => unknown;

const darkroomErrorBody: ErrorRenderer = (e) => errorBody(e.code, e.message, e.details);

/**
 * Maps anything thrown by a handler to `{ error: { code, message, details } }` with an honest status.
 * A server error is logged here, once, with what was thrown; client errors are not (the request
 * log has their status), nor are 503s: Redis being down (its connections' outage lines say so) or
 * a full queue.
 */
export function createErrorHandler(logger: Logger, render: ErrorRenderer = darkroomErrorBody): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let appError: AppError;
    const e = err as { type?: string; status?: number; message?: string; name?: string };
    if (err instanceof AppError) appError = err;
    else if (e.type === 'entity.too.large')
      appError = new AppError(413, 'payload_too_large', 'the request body is larger than this server accepts');
    else if (e.type === 'entity.parse.failed')
      appError = new AppError(400, 'invalid_json', `the body is not valid JSON: ${e.message}`);
    else if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
      appError = new AppError(415, 'unsupported_encoding', e.message ?? 'unsupported encoding');
    else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500)
      appError = new AppError(e.status, 'bad_request', e.message ?? 'bad request');
    else if (isRedisUnreachable(err)) appError = redisUnavailable();
    else appError = new AppError(500, 'internal_error', 'an internal error occurred');
    if (appError.status >= 500 && appError.status !== 503) (req.log ?? logger).error({ err }, 'server error');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(appError.status).set(appError.headers).json(render(appError));
  };
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError(404, 'route_not_found', `no route ${req.method} ${req.path}`));
};
