import type { WorkerSettings } from '../../src/config';
import type { Logger } from '../../src/logger';
import type { CatalogEntry } from '../../src/models/model-catalog';
import { resource, type Resource } from '../components/component';
import type { QueueWorkers } from '../components/queue-workers';
import { runnerFactory } from '../model-registry';
import type { WorkerMetrics } from '../worker-metrics';
import { createModelPool, type ModelPool } from './model-pool';

/**
 * The models this worker serves. Without WORKER_MODEL_MEMORY_MB every one loads at start, as a
 * worker with nothing to save memory for should; with it they load on their first job.
 */
export function modelPool(
  worker: WorkerSettings,
  logger: Logger,
  entries: CatalogEntry[],
  metrics: Resource<WorkerMetrics>,
): Resource<ModelPool> {
  return resource(
    'model pool',
    async () => {
      const m = metrics.value;
      const pool = createModelPool(
        entries,
        worker.modelMemoryMb,
        runnerFactory(worker, logger, m.inferenceRun),
        logger,
        { loaded: m.modelLoaded, unloaded: m.modelUnloaded },
      );
      if (worker.modelMemoryMb === undefined) {
        try {
          for (const e of entries) await pool.acquire(e.manifest.name).then(() => pool.release(e.manifest.name));
        } catch (err) {
          await pool.close();
          throw err;
        }
      }
      return pool;
    },
    (pool) => pool.close(),
  );
}

/** What the heartbeat publishes for routing and the API's catalog. */
export function fleetState(workers: QueueWorkers, pool: ModelPool) {
  return {
    queues: workers.current().map((c) => c.queue),
    serves: pool.served().map((e) => e.manifest.name),
    loaded: pool.loadedNames(),
    resident_mb: pool.residentMb(),
  };
}
