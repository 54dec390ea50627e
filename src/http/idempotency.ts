import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { AppError } from '../errors';
import type { AppDeps } from './app-deps';
import { principalOf } from './api-key-auth';

/** A digest of everything that makes two requests "the same body". */
export function fingerprint(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const p of parts) hash.update(typeof p === 'string' ? Buffer.from(p) : p).update('\u0000');
  return hash.digest('hex');
}

/**
 * `Idempotency-Key` on POST: the same key and body return the job made the first time (no second
 * job); the same key with another body is a 422. Keys are per API key and live as long as jobs do.
 * `bodyFingerprint` runs only for a request with the header: it hashes every uploaded byte.
 */
export async function idempotent(
  deps: AppDeps,
  req: Request,
  bodyFingerprint: () => string,
  create: () => Promise<string>,
): Promise<{ id: string; replayed: boolean }> {
  const header = req.get('idempotency-key');
  if (header === undefined) return { id: await create(), replayed: false };
  if (!/^[\x21-\x7e]{1,255}$/.test(header))
    throw new AppError(400, 'invalid_idempotency_key', 'Idempotency-Key must be 1 to 255 printable ASCII characters');
  const key = `${deps.config.redis.prefix}:idem:${principalOf(req)}:${fingerprint(header)}`;
  const fp = bodyFingerprint();
  const claim = JSON.stringify({ fp, id: '' });
  const claimed = await deps.redis.set(key, claim, 'EX', 120, 'NX');
  if (!claimed) {
    const existing = JSON.parse((await deps.redis.get(key)) ?? '{}') as { fp?: string; id?: string };
    if (existing.fp !== fp) {
      throw new AppError(422, 'idempotency_key_reused', 'this Idempotency-Key was used with a different request body');
    }
    if (!existing.id)
      throw new AppError(
        409,
        'idempotency_in_progress',
        'a request with this Idempotency-Key is still being processed',
        undefined,
        { 'Retry-After': '1' },
      );
    return { id: existing.id, replayed: true };
  }
  try {
    const id = await create();
    await deps.redis.set(key, JSON.stringify({ fp, id }), 'EX', deps.config.jobs.retentionSeconds);
    return { id, replayed: false };
  } catch (err) {
    await deps.redis.del(key).catch(() => undefined);
    throw err;
  }
}
