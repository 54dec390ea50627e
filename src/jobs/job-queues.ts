import { FlowProducer, Queue, type Job, type JobsOptions } from 'bullmq';
import type { RedisClient } from '../redis/redis-connection';
import { QUEUE_NAMES, queueOfJobId, type JobPayload, type QueueName } from './job-contract';

export type DarkroomJob = Job<JobPayload>;

/** Settings that decide how long jobs live and how often they are retried. */
export interface JobPolicy {
  prefix: string;
  attempts: number;
  retentionSeconds: number;
}

/** Options every job is created with: retries with backoff, and expiry together with its files. */
export function defaultJobOptions(policy: JobPolicy): JobsOptions {
  return {
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: policy.retentionSeconds },
    removeOnFail: { age: policy.retentionSeconds },
  };
}

/** The producer side of every queue, shared by the API routes. */
export interface JobQueues {
  queues: Record<QueueName, Queue>;
  flow: FlowProducer;
  policy: JobPolicy;
  /** Finds a job by id alone: the id names its queue. */
  getJob(id: string): Promise<DarkroomJob | undefined>;
  close(): Promise<void>;
}

/** `onError` hears the queues' 'error' events; without a listener BullMQ prints each one with its stack. */
export function createJobQueues(
  connection: RedisClient,
  policy: JobPolicy,
  onError?: (err: Error, queue: string) => void,
): JobQueues {
  const defaultJobOptionsForQueue = defaultJobOptions(policy);
  const queues = Object.fromEntries(
    QUEUE_NAMES.map((name) => [
      name,
      new Queue(name, { connection, prefix: policy.prefix, defaultJobOptions: defaultJobOptionsForQueue }),
    ]),
  ) as Record<QueueName, Queue>;
  const flow = new FlowProducer({ connection, prefix: policy.prefix });
  if (onError) {
    for (const [name, queue] of Object.entries(queues)) queue.on('error', (err) => onError(err, name));
    flow.on('error', (err) => onError(err, 'flow'));
  }
  return {
    queues,
    flow,
    policy,
    async getJob(id) {
      const queue = queueOfJobId(id);
      if (!queue) return undefined;
      return ((await queues[queue].getJob(id)) as DarkroomJob | undefined) ?? undefined;
    },
    async close() {
      await Promise.all([...Object.values(queues).map((q) => q.close()), flow.close()]);
    },
  };
}
