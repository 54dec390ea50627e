import type { Config } from '../../src/config';
import type { JobQueues } from '../../src/jobs/job-queues';
import type { Logger } from '../../src/logger';
import type { BlobStore } from '../../src/storage/blob-store';
import { UPLOAD_FOLDER, uploadFolderKey } from '../../src/storage/upload-keys';
import type { RedisClient } from '../../src/redis/redis-target';
import { interval, type Component, type Resource } from './component';

/**
 * Removes a job's folder once the job is gone from RedisClient (expired) and its files are past the grace
 * period; an uploaded image's folder goes once its upload record has expired.
 */
export function blobSweeper(
  config: Pick<Config, 'redis' | 'jobs'>,
  logger: Logger,
  store: BlobStore,
  lookups: Resource<JobQueues>,
  redis: Resource<RedisClient>,
): Component {
  const exists = async (folder: string) =>
    UPLOAD_FOLDER.test(folder)
      ? (await redis.value.exists(uploadFolderKey(config.redis.prefix, folder))) === 1
      : (await lookups.value.getJob(folder)) !== undefined;
  return interval('blob sweeper', config.jobs.blobSweepIntervalSeconds * 1000, () => {
    store.sweep(config.jobs.blobSweepGraceSeconds * 1000, exists).then(
      (n) => n && logger.info({ removed: n }, 'expired job files removed'),
      (err) => logger.warn({ err }, 'blob sweep failed'),
    );
  });
}
