import { ConfigError } from '../../src/config';
import type { Logger } from '../../src/logger';
import type { CatalogEntry } from '../../src/models/model-catalog';
import type { LoadedModel, ModelRegistry } from '../model-registry';
import { loadModel, runnersOf } from '../pipelines/pipelines';
import type { RunnerFactory } from '../runtime/model-runner';
import { modelMemoryMb } from './model-memory';

/** What the pool tells metrics. */
export interface PoolEvents {
  loaded(model: string, seconds: number): void;
  unloaded(model: string): void;
}

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

interface Slot {
  entry: CatalogEntry;
  mb: number;
  loading?: Promise<LoadedModel>;
  model?: LoadedModel;
  holders: number;
  lastUsed: number;
  removed?: boolean;
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
  const slots = new Map<string, Slot>();
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  const add = (entry: CatalogEntry) => {
    checkBudget([entry], budgetMb);
    slots.set(entry.manifest.name, { entry, mb: modelMemoryMb(entry), holders: 0, lastUsed: 0 });
  };
  entries.forEach(add);
  const resident = () => [...slots.values()].filter((s) => s.model || s.loading);
  const residentMb = () => resident().reduce((sum, s) => sum + s.mb, 0);

  const unload = async (slot: Slot) => {
    const model = slot.model;
    slot.model = undefined;
    if (slots.get(slot.entry.manifest.name) === slot && slot.removed) slots.delete(slot.entry.manifest.name);
    if (!model) return;
    await Promise.all(runnersOf(model).map((r) => r.close()));
    events.unloaded(slot.entry.manifest.name);
    logger.info({ model: slot.entry.manifest.name, resident_mb: residentMb() }, 'model unloaded');
  };

  /** Unloads idle models, least recently used first, until `mb` more fit; false when they cannot yet. */
  const makeRoom = async (mb: number): Promise<boolean> => {
    if (budgetMb === undefined) return true;
    const idle = resident()
      .filter((s) => s.model && s.holders === 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    while (residentMb() + mb > budgetMb) {
      const victim = idle.shift();
      if (!victim) return false;
      await unload(victim);
    }
    return true;
  };

  const load = async (slot: Slot): Promise<LoadedModel> => {
    const started = Date.now();
    const model = await loadModel(slot.entry, startRunner);
    const seconds = (Date.now() - started) / 1000;
    events.loaded(slot.entry.manifest.name, seconds);
    logger.info({ model: slot.entry.manifest.name, seconds, mb: slot.mb }, 'model loaded');
    return model;
  };

  const acquire = async (name: string): Promise<LoadedModel> => {
    for (;;) {
      const slot = slots.get(name);
      if (!slot || slot.removed) throw new Error(`this worker does not serve model "${name}"`);
      slot.holders += 1;
      slot.lastUsed = Date.now();
      if (slot.model) return slot.model;
      if (!slot.loading) {
        slot.holders -= 1;
        if (!(await makeRoom(slot.mb))) {
          await new Promise<void>((resolve) => waiters.push(resolve));
          continue;
        }
        if (slot.model || slot.loading) continue;
        // Another model started loading while this one made room: try again.
        if (budgetMb !== undefined && residentMb() + slot.mb > budgetMb) continue;
        slot.holders += 1;
        slot.loading = load(slot).finally(() => (slot.loading = undefined));
      }
      try {
        slot.model = await slot.loading;
        return slot.model;
      } catch (err) {
        slot.holders -= 1;
        wake();
        throw err;
      }
    }
  };

  return {
    get: (name) => slots.get(name)?.model,
    all: () => [...slots.values()].flatMap((s) => (s.model ? [s.model] : [])),
    runners: () => [...slots.values()].flatMap((s) => (s.model ? runnersOf(s.model) : [])),
    served: () => [...slots.values()].filter((s) => !s.removed).map((s) => s.entry),
    loadedNames: () => [...slots.values()].filter((s) => s.model).map((s) => s.entry.manifest.name),
    residentMb,
    acquire,
    release(name) {
      const slot = slots.get(name);
      if (!slot) return;
      slot.holders = Math.max(0, slot.holders - 1);
      slot.lastUsed = Date.now();
      if (slot.holders === 0 && slot.removed) void unload(slot);
      wake();
    },
    add,
    async remove(name) {
      const slot = slots.get(name);
      if (!slot) return;
      slot.removed = true;
      if (slot.holders === 0) await unload(slot);
      if (!slot.model) slots.delete(name);
    },
    async close() {
      await Promise.all([...slots.values()].map((s) => unload(s)));
    },
  };
}
