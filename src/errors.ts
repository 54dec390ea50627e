/** An error a client can act on: HTTP status, a stable machine code, a human message. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const notFound = (what: string) => new AppError(404, 'not_found', `${what} not found`);

/** Redis cannot be reached: the client should retry shortly. */
export const redisUnavailable = () =>
  new AppError(503, 'redis_unavailable', 'the job store (Redis) is unreachable; try again shortly', undefined, {
    'Retry-After': '5',
  });

/** Body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}
