import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { ANONYMOUS, type ApiKeyStore } from '../auth/api-keys';
import { AppError } from '../errors';

/** Who made each request: the API key's name, or ANONYMOUS when the API runs open. */
const principals = new WeakMap<Request, string>();

export function principalOf(req: Request): string {
  const p = principals.get(req);
  if (!p) throw new Error('principalOf called on a route that is not behind requireApiKey');
  return p;
}

/** Where else than `Authorization: Bearer` a protocol adapter's clients put the key. */
export interface KeySources {
  /** `Authorization: Basic` with the key as password (AUTOMATIC1111's `--api-auth`, as its clients send it). */
  basic?: boolean;
  /** A query parameter (for websockets, whose browser clients cannot set headers); never logged. */
  query?: string;
}

const CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="darkroom"' };

function tokenOf(req: IncomingMessage, sources: KeySources): string | undefined {
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = sources.basic ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1) || undefined;
  }
  if (sources.query) {
    const value = new URL(req.url ?? '/', 'http://localhost').searchParams.get(sources.query);
    if (value) return value;
  }
  return undefined;
}

/** The key name behind a request (ANONYMOUS when keys are off), or the 401 to answer. */
export function identifyRequest(keys: ApiKeyStore, req: IncomingMessage, sources: KeySources = {}): string | AppError {
  if (!keys.enabled) return ANONYMOUS;
  const token = tokenOf(req, sources);
  if (!token)
    return new AppError(
      401,
      'missing_api_key',
      'this server needs an API key: send "Authorization: Bearer <key>"',
      undefined,
      CHALLENGE,
    );
  return keys.identify(token) ?? new AppError(401, 'invalid_api_key', 'the API key is not valid', undefined, CHALLENGE);
}

/** With keys configured, every request needs `Authorization: Bearer <key>` (or one of `sources`). */
export function requireApiKey(keys: ApiKeyStore, sources: KeySources = {}): RequestHandler {
  return (req, _res, next) => {
    const who = identifyRequest(keys, req, sources);
    if (who instanceof AppError) return next(who);
    principals.set(req, who);
    next();
  };
}
