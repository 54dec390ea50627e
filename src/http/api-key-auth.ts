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

/** With keys configured, every request needs `Authorization: Bearer <key>`. */
export function requireApiKey(keys: ApiKeyStore): RequestHandler {
  const challenge = { 'WWW-Authenticate': 'Bearer realm="darkroom"' };
  return (req, _res, next) => {
    if (!keys.enabled) {
      principals.set(req, ANONYMOUS);
      return next();
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m)
      return next(
        new AppError(
          401,
          'missing_api_key',
          'this server needs an API key: send "Authorization: Bearer <key>"',
          undefined,
          challenge,
        ),
      );
    const name = keys.identify(m[1]);
    if (!name) return next(new AppError(401, 'invalid_api_key', 'the API key is not valid', undefined, challenge));
    principals.set(req, name);
    next();
  };
}
