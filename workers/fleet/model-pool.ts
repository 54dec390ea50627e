import { ConfigError } from '../../src/config';
import type { Logger } from '../../src/logger';
import type { CatalogEntry } from '../../src/models/model-catalog';
import type { LoadedModel, ModelRegistry } from '../model-registry';
import { runnersOf } from '../pipelines/pipelines';
import type { RunnerFactory } from '../runtime/model-runner';
import { modelMemoryMb } from './model-memory';
import { ModelSlots, type PoolEvents } from './model-slots';

export type { PoolEvents } from './model-slots';

/**
 * The models a worker serves, loaded on their first job within a memory budget
 * (WORKER_MODEL_MEMORY_MB; none: no limit). To make room, the least recently used model that no
 * job holds is unloaded; a job whose model does not fit yet waits until enough jobs of other
 * models end. Jobs hold their model from `acquire` to `release`, so it is never unloaded under them.
 */
export interface ModelPool extends ModelRegistry {
  served(): CatalogEntry[];
  loadedNames(): string[];
  /** MB the loaded models take. */
  residentMb(): number;
  acquire(name: string): Promise<LoadedModel>;
  release(name: string): void;
  /** Serves one more model (hot add); throws when it alone exceeds the budget. */
  add(entry: CatalogEntry): void;
  /** Stops serving a model; it is unloaded once its running jobs have released it. */
  remove(name: string): Promise<void>;
}

/** Throws, naming every model that alone exceeds the budget. */
export function checkBudget(entries: CatalogEntry[], budgetMb: number | undefined): void {
  if (budgetMb === undefined) return;
  const big = entries.map((e) => ({ name: e.manifest.name, mb: modelMemoryMb(e) })).filter((m) => m.mb > budgetMb);
  if (big.length)
    throw new ConfigError([
      `WORKER_MODEL_MEMORY_MB=${budgetMb} cannot hold ${big.map((m) => `${m.name} (${m.mb} MB)`).join(', ')}; ` +
        'raise the budget, set a smaller memory_mb in the manifest if it is an overestimate, or serve the model elsewhere',
    ]);
}

export function createModelPool(
  entries: CatalogEntry[],
  budgetMb: number | undefined,
  startRunner: RunnerFactory,
  logger: Logger,
  events: PoolEvents,
): ModelPool {
  checkBudget(entries, budgetMb);
  const slots = new ModelSlots(budgetMb, startRunner, logger, events);
  const add = (entry: CatalogEntry) => {
    checkBudget([entry], budgetMb);
    slots.add(entry);
  };
  entries.forEach(add);

  return {
    get: (name) => slots.get(name)?.model,
    all: () => slots.all().flatMap((s) => (s.model ? [s.model] : [])),
    runners: () => slots.all().flatMap((s) => (s.model ? runnersOf(s.model) : [])),
    served: () =>
      slots
        .all()
        .filter((s) => !s.removed)
        .map((s) => s.entry),
    loadedNames: () =>
      slots
        .all()
        .filter((s) => s.model)
        .map((s) => s.entry.manifest.name),
    residentMb: () => slots.residentMb(),
    acquire: (name) => slots.acquire(name),
    release: (name) => slots.release(name),
    add,
    remove: (name) => slots.remove(name),
    close: () => slots.close(),
  };
}
