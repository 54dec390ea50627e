import type { RedisClient } from '../redis/redis-connection';
import { JOB_TYPES, type JobType } from '../jobs/job-contract';
import { chooseDefaults } from '../models/model-defaults';
import type { WorkerHeartbeat } from '../jobs/worker-directory';
import type { CatalogEntry, ModelCatalog } from '../models/model-catalog';
import { jobTypesOf } from './model-queues';
import { readOffers } from './model-offers';

/** How many live workers serve a model, and how many hold it in memory now. */
export interface ModelPresence {
  workers: number;
  loaded: number;
}

/**
 * The API's catalog: its own MODELS_PATH (may be empty) and every model a live worker serves,
 * refreshed from Redis every `refreshMs`. `entries` lists what can run now; `get` also finds models
 * offered before whose workers are gone, so their jobs are accepted and wait for a worker.
 */
export interface FleetCatalog extends ModelCatalog {
  presence(name: string): ModelPresence;
  /** Every model offered now or before (the API's own included). */
  offered(): CatalogEntry[];
  /** Models, offered now or before, that take jobs of `type`: the model queues a job may be in. */
  modelsOf(type: JobType): string[];
  /** Reads Redis now (the first read is awaited at start). */
  refresh(): Promise<void>;
  close(): void;
}

const typesOf = (e: CatalogEntry) => jobTypesOf(e.manifest, e.pipeline?.hasVaeEncoder);

export function createFleetCatalog(
  local: ModelCatalog,
  redis: RedisClient,
  prefix: string,
  listWorkers: () => Promise<WorkerHeartbeat[]>,
  onError: (err: Error) => void,
  refreshMs = 1000,
): FleetCatalog {
  let offered = new Map<string, CatalogEntry>();
  let presence = new Map<string, ModelPresence>();
  let live: CatalogEntry[] = [...local.entries];
  // The API's own DEFAULT_* choices first; for jobs it has no model of, the fleet's (model-defaults.ts).
  let fleetDefaults = chooseDefaults(live).byJob;
  const defaultFor = (job: JobType) => local.defaultFor(job) ?? fleetDefaults[job];

  const refresh = async () => {
    const [offers, workers] = await Promise.all([readOffers(redis, prefix), listWorkers()]);
    const counts = new Map<string, ModelPresence>();
    const count = (name: string) => counts.get(name) ?? counts.set(name, { workers: 0, loaded: 0 }).get(name)!;
    for (const w of workers) {
      for (const name of w.serves ?? []) count(name).workers += 1;
      for (const name of w.loaded ?? []) count(name).loaded += 1;
    }
    offered = new Map(offers.map((e) => [e.manifest.name, e]));
    presence = counts;
    const own = new Set(local.entries.map((e) => e.manifest.name));
    live = [...local.entries, ...offers.filter((e) => !own.has(e.manifest.name) && counts.has(e.manifest.name))];
    fleetDefaults = chooseDefaults(live).byJob;
  };
  const timer = setInterval(() => void refresh().catch(onError), refreshMs);
  timer.unref();

  return {
    get entries() {
      return live;
    },
    get: (name) => local.get(name) ?? offered.get(name),
    defaultFor,
    defaultJobsOf: (entry) => JOB_TYPES.filter((job) => defaultFor(job) === entry),
    presence: (name) => presence.get(name) ?? { workers: 0, loaded: 0 },
    offered: () => [...local.entries, ...[...offered.values()].filter((e) => !local.get(e.manifest.name))],
    modelsOf(type) {
      const names = new Set<string>();
      for (const e of [...local.entries, ...offered.values()])
        if (typesOf(e).includes(type)) names.add(e.manifest.name);
      return [...names];
    },
    refresh,
    close: () => clearInterval(timer),
  };
}
