import type { RedisClient } from '../redis/redis-connection';
import type { Config } from '../config';
import type { JobEventHub } from '../jobs/job-event-hub';
import type { JobQueues } from '../jobs/job-queues';
import type { QueueEstimator } from '../jobs/queue-estimates';
import type { WorkerDirectory } from '../jobs/worker-directory';
import type { Logger } from '../logger';
import type { ApiKeyStore } from '../auth/api-keys';
import type { ModelCatalog } from '../models/model-catalog';
import type { BlobStore } from '../storage/blob-store';
import type { OpenStreams } from './open-streams';
import type { ReplicaFence } from '../redis/replica-fence';

/** The sections of the config the HTTP app reads. */
export type ApiConfig = Pick<Config, 'http' | 'limits' | 'redis' | 'jobs' | 'webhooks' | 'storage' | 'admin'>;

/** Everything the HTTP app needs, passed in explicitly. */
export interface AppDeps {
  config: ApiConfig;
  logger: Logger;
  redis: RedisClient;
  queues: JobQueues;
  store: BlobStore;
  catalog: ModelCatalog;
  keys: ApiKeyStore;
  /** Live job events (SSE, `Prefer: wait`); createApp makes one when absent. */
  events?: JobEventHub;
  /** Live workers, for ETAs and metrics; createApp makes one when absent. */
  workers?: WorkerDirectory;
  /** queue_position and eta_seconds of unfinished jobs; createApp makes one when absent. */
  estimates?: QueueEstimator;
  /** With REDIS_WAIT_REPLICAS: waits for replica copies of new jobs before their 202. */
  replicas?: ReplicaFence;
  /** Open event streams and waits per client (MAX_OPEN_STREAMS_PER_KEY); createApp makes one when absent. */
  openStreams?: OpenStreams;
}

/** AppDeps once createApp has filled in what the caller left out. */
export type LiveAppDeps = AppDeps & Required<Pick<AppDeps, 'events' | 'workers' | 'estimates' | 'openStreams'>>;
