import type { Logger } from '../../src/logger';
import type { CatalogEntry } from '../../src/models/model-catalog';
import type { LoadedModel } from '../model-registry';
import { loadModel, runnersOf } from '../pipelines/pipelines';
import type { RunnerFactory } from '../runtime/model-runner';
import { modelMemoryMb } from './model-memory';

/** What the pool tells metrics. */
export interface PoolEvents {
  loaded(model: string, seconds: number): void;
  unloaded(model: string): void;
}

export interface Slot {
  entry: CatalogEntry;
  mb: number;
  loading?: Promise<LoadedModel>;
  model?: LoadedModel;
  holders: number;
  lastUsed: number;
  removed?: boolean;
}

/**
 * The model pool's state (model-pool.ts): a slot per served model, loaded on its first job within
 * the memory budget, unloading idle models least recently used first to make room.
 */
export class ModelSlots {
  private readonly slots = new Map<string, Slot>();
  private readonly waiters: (() => void)[] = [];

  constructor(
    private readonly budgetMb: number | undefined,
    private readonly startRunner: RunnerFactory,
    private readonly logger: Logger,
    private readonly events: PoolEvents,
  ) {}

  /** Serves one more model (the budget is checked by the caller). */
  add(entry: CatalogEntry): void {
    this.slots.set(entry.manifest.name, { entry, mb: modelMemoryMb(entry), holders: 0, lastUsed: 0 });
  }

  all(): Slot[] {
    return [...this.slots.values()];
  }

  get(name: string): Slot | undefined {
    return this.slots.get(name);
  }

  /** MB the loaded (and loading) models take. */
  residentMb(): number {
    return this.resident().reduce((sum, s) => sum + s.mb, 0);
  }

  async acquire(name: string): Promise<LoadedModel> {
    for (;;) {
      const slot = this.slots.get(name);
      if (!slot || slot.removed) throw new Error(`this worker does not serve model "${name}"`);
      slot.holders += 1;
      slot.lastUsed = Date.now();
      if (slot.model) return slot.model;
      if (!slot.loading) {
        slot.holders -= 1;
        if (!(await this.makeRoom(slot.mb))) {
          await new Promise<void>((resolve) => this.waiters.push(resolve));
          continue;
        }
        if (slot.model || slot.loading) continue;
        // Another model started loading while this one made room: try again.
        if (this.budgetMb !== undefined && this.residentMb() + slot.mb > this.budgetMb) continue;
        slot.holders += 1;
        slot.loading = this.load(slot).finally(() => (slot.loading = undefined));
      }
      try {
        slot.model = await slot.loading;
        return slot.model;
      } catch (err) {
        slot.holders -= 1;
        this.wake();
        throw err;
      }
    }
  }

  release(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) return;
    slot.holders = Math.max(0, slot.holders - 1);
    slot.lastUsed = Date.now();
    if (slot.holders === 0 && slot.removed) void this.unload(slot);
    this.wake();
  }

  async remove(name: string): Promise<void> {
    const slot = this.slots.get(name);
    if (!slot) return;
    slot.removed = true;
    if (slot.holders === 0) await this.unload(slot);
    if (!slot.model) this.slots.delete(name);
  }

  async close(): Promise<void> {
    await Promise.all([...this.slots.values()].map((s) => this.unload(s)));
  }

  private wake(): void {
    this.waiters.splice(0).forEach((w) => w());
  }

  private resident(): Slot[] {
    return [...this.slots.values()].filter((s) => s.model || s.loading);
  }

  private async unload(slot: Slot): Promise<void> {
    const model = slot.model;
    slot.model = undefined;
    if (this.slots.get(slot.entry.manifest.name) === slot && slot.removed) this.slots.delete(slot.entry.manifest.name);
    if (!model) return;
    await Promise.all(runnersOf(model).map((r) => r.close()));
    this.events.unloaded(slot.entry.manifest.name);
    this.logger.info({ model: slot.entry.manifest.name, resident_mb: this.residentMb() }, 'model unloaded');
  }

  /** Unloads idle models, least recently used first, until `mb` more fit; false when they cannot yet. */
  private async makeRoom(mb: number): Promise<boolean> {
    if (this.budgetMb === undefined) return true;
    const idle = this.resident()
      .filter((s) => s.model && s.holders === 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    while (this.residentMb() + mb > this.budgetMb) {
      const victim = idle.shift();
      if (!victim) return false;
      await this.unload(victim);
    }
    return true;
  }

  private async load(slot: Slot): Promise<LoadedModel> {
    const started = Date.now();
    const model = await loadModel(slot.entry, this.startRunner);
    const seconds = (Date.now() - started) / 1000;
    this.events.loaded(slot.entry.manifest.name, seconds);
    this.logger.info({ model: slot.entry.manifest.name, seconds, mb: slot.mb }, 'model loaded');
    return model;
  }
}
