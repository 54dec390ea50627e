import type { Config } from '../../src/config';
import type { JobQueues } from '../../src/jobs/job-queues';
import type { Logger } from '../../src/logger';
import type { BlobStore } from '../../src/storage/blob-store';
import { interval, type Component, type Resource } from './component';

/** Removes a job's folder once the job is gone from Redis (expired) and its files are past the grace period. */
export function blobSweeper(config: Config, logger: Logger, store: BlobStore, lookups: Resource<JobQueues>): Component {
  const exists = async (jobId: string) => (await lookups.value.getJob(jobId)) !== undefined;
  return interval('blob sweeper', config.BLOB_SWEEP_INTERVAL_SECONDS * 1000, () => {
    store.sweep(config.BLOB_SWEEP_GRACE_SECONDS * 1000, exists).then(
      (n) => n && logger.info({ removed: n }, 'expired job files removed'),
      (err) => logger.warn({ err }, 'blob sweep failed'),
    );
  });
}
