import { modelQueueName } from '../fleet/model-queues';
import type { FlowJob } from 'bullmq';
import type { Request } from 'express';
import { AppError } from '../errors';
import { admitJobs, trackJobs } from '../jobs/job-admission';
import { newJobId, type BatchPayload, type JobPayload } from '../jobs/job-contract';
import { defaultJobOptions } from '../jobs/job-queues';
import { jobPrefix } from '../storage/blob-store';
import type { AppDeps } from './app-deps';
import { principalOf } from './api-key-auth';
import { checkImageCount, decodeBase64Image, stageImages } from './image-input';
import { checkBatchCost } from './job-cost';
import { resolveClassificationParams, resolveGenerationParams } from './job-params';
import { admissionPolicy, awaitReplicas } from './job-submission';
import type { BatchRequest } from './request-schemas';
import { resolveWebhook } from './webhook-params';

type FlowChildJob = NonNullable<FlowJob['children']>[number];

/** Refuses a batch larger than the configured limits before anything in it is decoded or resolved. */
function checkBatchSize(requests: BatchRequest['requests'], config: AppDeps['config']): void {
  if (requests.length > config.limits.maxBatchRequests)
    throw new AppError(413, 'batch_too_large', `at most ${config.limits.maxBatchRequests} requests per batch`);
  for (const [i, r] of requests.entries()) {
    if (r.type === 'classification') checkImageCount(r.images.length, config.limits, `requests.${i}.images`);
  }
}

/**
 * Validates every request of a batch, stages its inputs and adds it as one BullMQ flow (a parent
 * with one child per request); returns the batch id. A bad request rejects the batch whole, and
 * inputs staged before a failure are removed.
 */
export async function submitBatch(deps: AppDeps, req: Request, requests: BatchRequest['requests']): Promise<string> {
  const { config, queues, store } = deps;
  checkBatchSize(requests, config);
  const batchId = newJobId('batch');
  const owner = principalOf(req);
  const options = defaultJobOptions(queues.policy);
  // Resolve every request before staging anything, so a bad one rejects the batch cleanly.
  const resolved = resolveRequests(deps, requests);
  checkBatchCost(
    resolved.flatMap((r) => (r.type === 'generation' ? [r.params] : [])),
    config.limits,
  );
  const webhooks = await Promise.all(
    requests.map((r, i) => resolveWebhook(r.webhook, config.webhooks, ['requests', i])),
  );
  // One quota check for the whole batch; its children share the fair-share priority.
  const firstQueue = modelQueueName(resolved[0].type, resolved[0].params.model);
  const priority = await admitJobs(deps.redis, queues, admissionPolicy(deps), owner, firstQueue, resolved.length);
  const children: FlowChildJob[] = [];
  try {
    for (const [i, r] of resolved.entries()) {
      const common = { owner, request_id: String(req.id), webhook: webhooks[i] };
      children.push(await childJob(deps, r, common, { ...options, priority }));
    }
    const payload: BatchPayload = {
      type: 'batch',
      owner,
      children: children.map((c) => String(c.opts?.jobId)),
      request_id: String(req.id),
    };
    await queues.flow.add({
      name: 'batch',
      queueName: 'batch',
      data: payload,
      opts: { ...options, jobId: batchId },
      children,
    });
    await trackJobs(deps.redis, config.redis.prefix, owner, payload.children);
  } catch (err) {
    await Promise.all(children.map((c) => store.removePrefix(jobPrefix(String(c.opts?.jobId))).catch(() => undefined)));
    throw err;
  }
  await awaitReplicas(deps, req);
  return batchId;
}

/** Each request's params (and decoded images), checked against the catalog and limits. */
function resolveRequests({ config, catalog }: AppDeps, requests: BatchRequest['requests']) {
  return requests.map((r, i) =>
    r.type === 'generation'
      ? {
          type: r.type,
          params: resolveGenerationParams(r, catalog, config.limits, ['requests', i]),
          seedGiven: r.seed !== undefined,
        }
      : {
          type: r.type,
          params: resolveClassificationParams(r, catalog, config.limits, ['requests', i]),
          images: r.images.map((img, j) => decodeBase64Image(img, `requests.${i}.images.${j}`)),
        },
  );
}

/** One request as a child of the batch's flow, its inputs staged. */
async function childJob(
  { config, store, catalog }: AppDeps,
  r: ReturnType<typeof resolveRequests>[number],
  common: { owner: string; request_id: string; webhook: Awaited<ReturnType<typeof resolveWebhook>> },
  { priority, ...options }: ReturnType<typeof defaultJobOptions> & { priority: number },
): Promise<FlowChildJob> {
  const id = newJobId(r.type);
  const data: JobPayload =
    r.type === 'generation'
      ? { ...common, type: 'generation', params: r.params, cacheable: r.seedGiven }
      : {
          ...common,
          type: 'classification',
          params: r.params,
          inputs: await stageImages(r.images, id, store, config.limits, catalog.get(r.params.model)?.manifest),
        };
  return {
    name: r.type,
    queueName: modelQueueName(r.type, r.params.model),
    data,
    opts: { ...options, jobId: id, priority, ignoreDependencyOnFailure: true },
  };
}
