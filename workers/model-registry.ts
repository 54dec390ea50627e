import type { WorkerSettings } from '../src/config';
import type { Logger } from '../src/logger';
import type { ModelCatalog } from '../src/models/model-catalog';
import { loadModel, runnersOf, type LoadedModel } from './pipelines/pipelines';
import { defaultIntraOpThreads } from './runtime/intra-op-threads';
import { startModelRunner, type ModelRunner, type RunnerFactory } from './runtime/model-runner';

export type { LoadedModel };

export interface ModelRegistry {
  get(name: string): LoadedModel | undefined;
  all(): LoadedModel[];
  /** Every runner (a diffusion pipeline has several), for health and metrics. */
  runners(): ModelRunner[];
  close(): Promise<void>;
}

/** Starts runners with this process's settings; `onBatch` hears of every inference run (runner name, items, ms). */
export function runnerFactory(
  worker: WorkerSettings,
  logger: Logger,
  onBatch?: (model: string, items: number, ms: number) => void,
): RunnerFactory {
  return (opts) =>
    startModelRunner({
      ...opts,
      onBatch: onBatch && ((items, ms) => onBatch(opts.name, items, ms)),
      maxBatchSize: Math.min(opts.maxBatchSize, worker.maxBatchSize ?? Infinity),
      providers: worker.ortProviders,
      intraOpThreads: worker.ortIntraOpThreads || defaultIntraOpThreads(),
      nice: worker.inferenceNice,
      logger,
    });
}

/**
 * Loads every model of the catalog, one inference thread per graph; sessions live as long as the
 * worker. `onBatch` hears of every inference run (runner name, items, ms), for metrics. (The worker
 * process uses the model pool of workers/fleet, which loads on demand within a memory budget.)
 */
export async function loadModelRegistry(
  catalog: ModelCatalog,
  worker: WorkerSettings,
  logger: Logger,
  onBatch?: (model: string, items: number, ms: number) => void,
): Promise<ModelRegistry> {
  const startRunner = runnerFactory(worker, logger, onBatch);
  const models = new Map<string, LoadedModel>();
  for (const entry of catalog.entries) {
    models.set(entry.manifest.name, await loadModel(entry, startRunner));
  }
  const runners = () => [...models.values()].flatMap(runnersOf);
  return {
    get: (name) => models.get(name),
    all: () => [...models.values()],
    runners,
    async close() {
      await Promise.all(runners().map((r) => r.close()));
    },
  };
}
