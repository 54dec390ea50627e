import type { RedisClient } from '../redis/redis-connection';
import type { CatalogEntry } from '../models/model-catalog';
import { modelManifestSchema } from '../models/model-manifest';

/**
 * The models the fleet has ever offered: one hash, model name -> the manifest a worker published
 * (and what its pipeline folder says), so the API validates and describes models without their
 * files. It does not expire: it is what tells "no worker serves it now" (the job waits) from "never
 * offered" (422). Who serves a model now is in the workers' expiring heartbeats.
 */
const offersKey = (prefix: string) => `${prefix}:fleet:models`;

/** A catalog entry as published: no folder, which means nothing on another machine. */
type Offer = Pick<CatalogEntry, 'manifest'> & { pipeline?: Omit<NonNullable<CatalogEntry['pipeline']>, 'dir'> };

/** Publishes a worker's models (one HSET); a newer manifest of the same name replaces the older. */
export async function publishOffers(redis: RedisClient, prefix: string, entries: CatalogEntry[]): Promise<void> {
  if (!entries.length) return;
  const fields = entries.flatMap((e) => {
    const offer: Offer = { manifest: e.manifest };
    if (e.pipeline)
      offer.pipeline = { hasVaeEncoder: e.pipeline.hasVaeEncoder, width: e.pipeline.width, height: e.pipeline.height };
    return [e.manifest.name, JSON.stringify(offer)];
  });
  await redis.hset(offersKey(prefix), ...fields);
}

/** Every model ever offered, as catalog entries (unreadable ones left out). */
export async function readOffers(redis: RedisClient, prefix: string): Promise<CatalogEntry[]> {
  const all = await redis.hgetall(offersKey(prefix));
  return Object.values(all).flatMap((text) => {
    try {
      const offer = JSON.parse(text) as Offer;
      const manifest = modelManifestSchema.parse(offer.manifest);
      return [{ manifest, dir: '', pipeline: offer.pipeline && { ...offer.pipeline, dir: '' } }];
    } catch {
      return [];
    }
  });
}
