import { FlowProducer, Queue, type Job, type JobsOptions } from 'bullmq';
import { LRUCache } from 'lru-cache';
import type { RedisClient } from '../redis/redis-connection';
import { modelQueueName } from '../fleet/model-queues';
import { JOB_TYPES, QUEUE_NAMES, queueOfJobId, type JobPayload, type JobType, type QueueName } from './job-contract';

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
  /** The queue of a model's jobs of one type (see src/fleet/model-queues.ts), opened on first use. */
  modelQueue(type: JobType, model: string): Queue;
  /** Any queue by name: a per-type queue or a model queue. */
  queue(name: string): Queue;
  /** The queues opened so far: the per-type ones and every model queue used. */
  opened(): Queue[];
  /** The per-type queues and the model queues of every model known to the catalog, opened. */
  known(): Queue[];
  /** The name of the queue holding a job, or undefined when none does. */
  locate(id: string): Promise<string | undefined>;
  /** Notes the queue a job was just added to, so finding it again costs no lookup (jobs never change queue). */
  noteQueue(id: string, queue: string): void;
  /** Finds a job by id alone: the id names its type, the catalog the models it may be queued for. */
  getJob(id: string): Promise<DarkroomJob | undefined>;
  close(): Promise<void>;
}

/**
 * `onError` hears the queues' 'error' events; without a listener BullMQ prints each one with its
 * stack. `modelsOf` names the models a job of a type may be queued for (the fleet's catalog).
 */
export function createJobQueues(
  connection: RedisClient,
  policy: JobPolicy,
  onError?: (err: Error, queue: string) => void,
  modelsOf: (type: JobType) => string[] = () => [],
): JobQueues {
  const defaultJobOptionsForQueue = defaultJobOptions(policy);
  const all = new Map<string, Queue>();
  const queue = (name: string): Queue => {
    let q = all.get(name);
    if (!q) {
      q = new Queue(name, { connection, prefix: policy.prefix, defaultJobOptions: defaultJobOptionsForQueue });
      if (onError) q.on('error', (err) => onError(err, name));
      all.set(name, q);
    }
    return q;
  };
  const queues = Object.fromEntries(QUEUE_NAMES.map((name) => [name, queue(name)])) as Record<QueueName, Queue>;
  const flow = new FlowProducer({ connection, prefix: policy.prefix });
  if (onError) flow.on('error', (err) => onError(err, 'flow'));

  const { locate, getJob, noteQueue } = jobLocator(connection, queue, modelsOf);
  return {
    queues,
    flow,
    policy,
    modelQueue: (type, model) => queue(modelQueueName(type, model)),
    queue,
    opened: () => [...all.values()],
    known: () => [
      ...Object.values(queues),
      ...JOB_TYPES.flatMap((t) => modelsOf(t).map((m) => queue(modelQueueName(t, m)))),
    ],
    locate,
    noteQueue,
    getJob,
    async close() {
      await Promise.all([...[...all.values()].map((q) => q.close()), flow.close()]);
    },
  };
}

/**
 * Finds the queue that holds a job. A job stays in the queue it was added to, so a queue once seen
 * needs no EXISTS per candidate queue again; a job removed meanwhile is looked up again (getJob).
 */
function jobLocator(
  connection: RedisClient,
  queue: (name: string) => Queue,
  modelsOf: (type: JobType) => string[],
): Pick<JobQueues, 'locate' | 'getJob' | 'noteQueue'> {
  const seen = new LRUCache<string, string>({ max: 10_000 });
  const locate = async (id: string): Promise<string | undefined> => {
    const known = seen.get(id);
    if (known) return known;
    const type = queueOfJobId(id);
    if (!type) return undefined;
    // One round trip: the job's hash exists in exactly one of the queues it may be in.
    const names = [...(type === 'batch' ? [] : modelsOf(type).map((m) => modelQueueName(type, m))), type];
    const found = ((await connection.pipeline(names.map((n) => ['exists', queue(n).toKey(id)])).exec()) ?? []).map(
      (r) => r[1],
    );
    const name = names.find((_, i) => found[i] === 1);
    if (name) seen.set(id, name);
    return name;
  };
  const getJob = async (id: string): Promise<DarkroomJob | undefined> => {
    const cached = seen.get(id);
    const name = cached ?? (await locate(id));
    if (!name) return undefined;
    const job = ((await queue(name).getJob(id)) as DarkroomJob | undefined) ?? undefined;
    if (job || !cached) return job;
    seen.delete(id);
    return getJob(id);
  };
  return { locate, getJob, noteQueue: (id, name) => void seen.set(id, name) };
}
