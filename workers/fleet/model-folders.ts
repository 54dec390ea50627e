import type { RedisClient } from '../../src/redis/redis-connection';
import type { Config } from '../../src/config';
import { publishOffers } from '../../src/fleet/model-offers';
import type { Logger } from '../../src/logger';
import { loadModelCatalog, type CatalogEntry } from '../../src/models/model-catalog';
import type { Component, Resource } from '../components/component';
import type { QueueWorkers } from '../components/queue-workers';
import type { ModelPool } from './model-pool';
import { modelQueuesOf } from './served-queues';

export interface ModelFoldersDeps {
  config: Pick<Config, 'worker' | 'redis' | 'models'>;
  logger: Logger;
  redis: Resource<RedisClient>;
  pool: Resource<ModelPool>;
  workers: QueueWorkers;
}

/** A folder's manifest as compared between scans: a changed one is served anew. */
const fingerprint = (e: CatalogEntry) => JSON.stringify(e.manifest);

/**
 * Publishes the served models' manifests to Redis at start, then looks at MODELS_PATH every
 * MODELS_WATCH_MS (and at once on SIGHUP): a model folder added is served (its queues consumed,
 * its manifest published), one removed stops taking jobs while the ones it runs finish. Polling,
 * not fs.watch: it sees folders on network mounts and symlinked folders alike, and a scan of a
 * few folders every 2 s costs nothing. A folder whose manifest is broken is logged and skipped
 * until it is fixed; the models already served go on.
 */
export function modelFolders(deps: ModelFoldersDeps): Component {
  const { config, logger } = deps;
  let timer: NodeJS.Timeout | undefined;
  let scanning: Promise<void> | undefined;
  let known = new Map<string, string>();
  const publish = offerPublisher(deps);

  const scan = async () => {
    const entries = readModelFolders(deps);
    if (!entries) return;
    await stopChanged(deps, entries, known);
    await publish(startAdded(deps, entries, known));
  };
  const rescan = () => {
    scanning ??= scan()
      .catch((err: Error) => logger.warn({ err: err.message }, 'model folder scan failed; the next one tries again'))
      .finally(() => (scanning = undefined));
    return scanning;
  };
  const onHangup = () => void rescan();

  return {
    name: 'model folders',
    async start() {
      known = new Map(deps.pool.value.served().map((e) => [e.manifest.name, fingerprint(e)]));
      await publish(deps.pool.value.served());
      process.on('SIGHUP', onHangup);
      if (config.worker.modelsWatchMs > 0) timer = setInterval(onHangup, config.worker.modelsWatchMs);
    },
    async stop() {
      clearInterval(timer);
      process.off('SIGHUP', onHangup);
      await scanning;
    },
  };
}

/**
 * Publishes manifests to Redis. Redis may be away: what could not be published is published by a
 * later scan, and every model again every 15 scans, in case Redis lost the hash.
 */
function offerPublisher(deps: ModelFoldersDeps): (entries: CatalogEntry[]) => Promise<void> {
  const { config, logger } = deps;
  let unpublished: CatalogEntry[] = [];
  let scans = 0;
  return async (entries) => {
    unpublished = [...unpublished, ...entries];
    if (++scans % 15 === 0) unpublished = deps.pool.value.served();
    if (!unpublished.length) return;
    const batch = unpublished;
    unpublished = [];
    await publishOffers(deps.redis.value, config.redis.prefix, batch).catch((err: Error) => {
      unpublished = [...batch, ...unpublished];
      logger.debug({ err: err.message }, 'model manifests not published (Redis away?); the next scan tries again');
    });
  };
}

/** The model folders now; undefined (logged) when they do not load. */
function readModelFolders({ config, logger }: ModelFoldersDeps): CatalogEntry[] | undefined {
  try {
    return loadModelCatalog(config.models.path, [config.models.dir]).entries;
  } catch (err) {
    return void logger.warn(
      { err: (err as Error).message },
      'model folders changed but do not load; serving what was served',
    );
  }
}

/** Stops serving each model whose folder is gone or changed (forgotten in `known`, so a changed one is added anew). */
async function stopChanged(deps: ModelFoldersDeps, entries: CatalogEntry[], known: Map<string, string>) {
  const { config, logger } = deps;
  const now = new Map(entries.map((e) => [e.manifest.name, fingerprint(e)]));
  const pool = deps.pool.value;
  for (const entry of pool.served()) {
    const name = entry.manifest.name;
    if (now.get(name) === known.get(name)) continue;
    await Promise.all(modelQueuesOf(entry, config.worker).map((q) => deps.workers.remove(q)));
    await pool.remove(name);
    known.delete(name);
    logger.info({ model: name }, 'model folder removed (or changed): no longer taking its jobs');
  }
}

/** Serves each model not in `known` (unless the pool refuses it); returns them all, to be published. */
function startAdded(deps: ModelFoldersDeps, entries: CatalogEntry[], known: Map<string, string>): CatalogEntry[] {
  const { config, logger } = deps;
  const pool = deps.pool.value;
  const added = entries.filter((e) => !known.has(e.manifest.name));
  for (const entry of added) {
    try {
      pool.add(entry);
    } catch (err) {
      logger.error({ model: entry.manifest.name, err: (err as Error).message }, 'model folder added but refused');
      continue;
    }
    known.set(entry.manifest.name, fingerprint(entry));
    modelQueuesOf(entry, config.worker).forEach((q) => deps.workers.add(q));
    logger.info({ model: entry.manifest.name }, 'model folder added: taking its jobs');
  }
  return added;
}
