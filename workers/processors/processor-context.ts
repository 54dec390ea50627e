import type { Job } from 'bullmq';
import type { RedisClient } from '../../src/redis/redis-connection';
import type { JobPayload } from '../../src/jobs/job-contract';
import type { ModelRegistry } from '../model-registry';
import type { PipelineContext } from '../pipelines/pipeline-context';

/** What every processor needs. */
export interface ProcessorContext extends PipelineContext {
  redis: RedisClient;
  registry: ModelRegistry;
}

/** BullMQ's processor shape: the signal aborts when the job is canceled. */
export type Processor = (job: Job<JobPayload>, token: string | undefined, signal?: AbortSignal) => Promise<unknown>;
