import type { Request } from 'express';
import { admitJobs, trackJobs, type AdmissionPolicy } from '../jobs/job-admission';
import type { JobPayload, JobType } from '../jobs/job-contract';
import type { AppDeps } from './app-deps';
import { principalOf } from './api-key-auth';
import { jobPrefix } from '../storage/blob-store';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Payload of a job before the API stamps its owner and request id on it. */
export type Submission = DistributiveOmit<Extract<JobPayload, { type: JobType }>, 'owner' | 'request_id'>;

export const admissionPolicy = ({ config }: AppDeps): AdmissionPolicy => ({
  prefix: config.redis.prefix,
  maxInFlightPerKey: config.limits.maxJobsInFlightPerKey,
  maxQueueDepth: config.limits.maxQueueDepth,
});

/**
 * The one way a single job enters a queue: stamped with its owner, admitted against the key's
 * quota and the queue's depth, given its fair-share priority, and tracked as in flight.
 */
export async function enqueueJob(deps: AppDeps, req: Request, id: string, data: Submission): Promise<string> {
  const owner = principalOf(req);
  const queue = deps.queues.modelQueue(data.type, data.params.model);
  const priority = await admitJobs(deps.redis, deps.queues, admissionPolicy(deps), owner, queue.name, 1);
  // Tracked and added in one round trip: the SADD is sent first, so a worker that finishes the job
  // always finds it to remove. One whose add fails is pruned from the set later, like any ended job.
  await Promise.all([
    trackJobs(deps.redis, deps.config.redis.prefix, owner, [id]),
    queue.add(data.type, { ...data, owner, request_id: String(req.id) }, { jobId: id, priority }),
  ]);
  deps.queues.noteQueue(id, queue.name);
  await awaitReplicas(deps, req);
  return id;
}

/** Runs `submit` for a job whose inputs it stages; if anything fails, the staged files go too. */
export async function withStagedInputs(
  deps: AppDeps,
  id: string,
  submit: (id: string) => Promise<string>,
): Promise<string> {
  try {
    return await submit(id);
  } catch (err) {
    await deps.store.removePrefix(jobPrefix(id)).catch(() => undefined);
    throw err;
  }
}

/**
 * With REDIS_WAIT_REPLICAS, holds the 202 until that many replicas have the job just created, or
 * REDIS_WAIT_TIMEOUT_MS passes: a failover right after the answer then promotes a replica that has
 * the job. The job is accepted either way; fewer copies than asked for is logged (README, Guarantees).
 */
export async function awaitReplicas(deps: AppDeps, req: Request): Promise<void> {
  if (!deps.replicas) return;
  const wanted = deps.config.redis.waitReplicas;
  const copies = await deps.replicas.wait();
  if (copies < wanted)
    req.log?.warn(
      { copies, wanted, timeout_ms: deps.config.redis.waitTimeoutMs },
      'job accepted with fewer replica copies than REDIS_WAIT_REPLICAS',
    );
}
