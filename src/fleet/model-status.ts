import type { JobQueues } from '../jobs/job-queues';
import { describeModel, type CatalogEntry, type ModelCatalog } from '../models/model-catalog';
import type { FleetCatalog } from './fleet-catalog';
import { jobTypesOf } from './model-queues';

const isFleet = (catalog: ModelCatalog): catalog is FleetCatalog => 'presence' in catalog;

/** States of a job waiting for a worker to take it. */
const WAITING = ['waiting', 'prioritized', 'delayed'] as const;

/** Jobs of a model waiting in its queues (one per job type it serves). */
export async function queuedJobs(entry: CatalogEntry, queues: JobQueues): Promise<number> {
  const counts = await Promise.all(
    jobTypesOf(entry.manifest, entry.pipeline?.hasVaeEncoder).map((t) =>
      queues.modelQueue(t, entry.manifest.name).getJobCounts(...WAITING),
    ),
  );
  return counts.flatMap((c) => Object.values(c)).reduce((a, b) => a + b, 0);
}

/** A model as GET /v1/models shows it: its description, who serves it and what waits for it. */
export async function describeFleetModel(
  entry: CatalogEntry,
  catalog: ModelCatalog,
  queues: JobQueues,
): Promise<Record<string, unknown>> {
  const presence = isFleet(catalog) ? catalog.presence(entry.manifest.name) : { workers: 0, loaded: 0 };
  return {
    ...describeModel(entry, catalog.defaultJobsOf(entry)),
    ...presence,
    queued: await queuedJobs(entry, queues),
  };
}
