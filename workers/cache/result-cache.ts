import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/**
 * Identical work is done once: results are kept (bounded by bytes, with a TTL), and identical
 * requests in flight at the same moment share one computation. Keys hash everything that decides
 * the result: model, parameters and input bytes. Every entry belongs to one owner (API key name):
 * a hit for another key would tell it, through `cached: true`, what that key has submitted.
 */
export interface ResultCache {
  /** Returns `owner`'s cached or in-flight value for `key`, or computes, stores and returns it. */
  remember<T extends object>(
    owner: string,
    key: string,
    compute: () => Promise<T>,
    sizeOf: (value: T) => number,
  ): Promise<{ value: T; cached: boolean }>;
  stats(): { entries: number; bytes: number; hits: number; misses: number; shared: number };
}

/** A stable key for the parts that decide a result (JSON-encoded, then SHA-256). */
export function cacheKey(...parts: (string | number | boolean | Buffer | undefined)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    if (Buffer.isBuffer(part)) hash.update(part);
    else hash.update(JSON.stringify(part ?? null));
    hash.update('\u0000');
  }
  return hash.digest('hex');
}

export function createResultCache(maxBytes: number, ttlMs: number): ResultCache {
  const lru = new LRUCache<string, { value: object; size: number }>({
    maxSize: Math.max(1, maxBytes),
    ttl: ttlMs,
    sizeCalculation: (entry) => Math.max(1, entry.size),
  });
  const inFlight = new Map<string, Promise<object>>();
  const counts = { hits: 0, misses: 0, shared: 0 };
  return {
    async remember(owner, resultKey, compute, sizeOf) {
      const key = cacheKey(owner, resultKey);
      const hit = maxBytes > 0 ? lru.get(key) : undefined;
      if (hit) {
        counts.hits += 1;
        return { value: hit.value as never, cached: true };
      }
      const running = inFlight.get(key);
      if (running) {
        counts.shared += 1;
        return { value: (await running) as never, cached: true };
      }
      counts.misses += 1;
      const promise = compute();
      inFlight.set(key, promise);
      try {
        const value = await promise;
        if (maxBytes > 0) lru.set(key, { value, size: sizeOf(value) });
        return { value, cached: false };
      } finally {
        inFlight.delete(key);
      }
    },
    stats: () => ({ entries: lru.size, bytes: lru.calculatedSize ?? 0, ...counts }),
  };
}

/**
 * An encoded image from `owner`'s cache when `enabled` (the request is reproducible), else computed.
 * `key` is only made when the cache is used: most generations have a new seed and are not cacheable.
 */
export async function rememberImage(
  cache: ResultCache,
  enabled: boolean,
  owner: string,
  key: () => string,
  produce: () => Promise<Buffer>,
): Promise<{ bytes: Buffer; cached: boolean }> {
  if (!enabled) return { bytes: await produce(), cached: false };
  const { value, cached } = await cache.remember(
    owner,
    key(),
    async () => ({ bytes: await produce() }),
    (v) => v.bytes.length,
  );
  return { bytes: value.bytes, cached };
}
