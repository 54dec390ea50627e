import type { WorkerSettings } from '../../src/config';
import { jobTypesOf, modelQueueName } from '../../src/fleet/model-queues';
import type { CatalogEntry } from '../../src/models/model-catalog';

/** The model queues a worker consumes for one model: one per job type it serves that WORKER_QUEUES allows. */
export function modelQueuesOf(entry: CatalogEntry, worker: Pick<WorkerSettings, 'queues'>): string[] {
  return jobTypesOf(entry.manifest, entry.pipeline?.hasVaeEncoder)
    .filter((type) => worker.queues.includes(type))
    .map((type) => modelQueueName(type, entry.manifest.name));
}

/**
 * Every queue a worker consumes: the per-type ones of WORKER_QUEUES (the batch parents, and jobs
 * an API before model routing queued by type) and the model queues of the models it serves.
 */
export function servedQueues(entries: CatalogEntry[], worker: Pick<WorkerSettings, 'queues'>): string[] {
  const perType = worker.queues.filter((q) => q !== 'webhooks');
  return [...perType, ...entries.flatMap((e) => modelQueuesOf(e, worker))];
}
