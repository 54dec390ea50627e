import type { FlowJob } from 'bullmq';

type FlowChildJob = NonNullable<FlowJob['children']>[number];
import { Router } from 'express';
import { AppError } from '../../errors';
import { defaultJobOptions } from '../../jobs/job-queues';
import { newJobId, type BatchPayload, type JobPayload } from '../../jobs/job-contract';
import type { JobView } from '../../jobs/job-view';
import { jobPrefix } from '../../storage/blob-store';
import type { AppDeps, LiveAppDeps } from '../app-deps';
import { validationError } from '../error-handler';
import { decodeBase64Image, stageImages } from '../image-input';
import { checkBatchCost } from '../job-cost';
import { resolveClassificationParams, resolveGenerationParams } from '../job-params';
import { findJob, jobArchiveEntries, viewOf } from '../job-lookup';
import { preferredWait, waitForFinish } from '../prefer-wait';
import { batchRequestSchema } from '../request-schemas';
import { resolveWebhook } from '../webhook-params';
import { principalOf } from '../api-key-auth';
import { admissionPolicy } from '../job-submission';
import { admitJobs, trackJobs } from '../../jobs/job-admission';
import type { BatchView } from '../response-schemas';
import { sendZip, type ZipEntry } from '../zip-stream';

/** Summary of a batch: its children's statuses and totals. */
async function viewBatch(deps: AppDeps, owner: string, id: string): Promise<{ view: BatchView; finished: boolean }> {
  const parent = await findJob(deps, owner, id, 'batch');
  const children = await Promise.all(
    (parent.data as BatchPayload).children.map(async (childId) => {
      const child = await deps.queues.getJob(childId);
      return child ? viewOf(deps, child) : undefined;
    }),
  );
  const jobs = children.filter((c): c is JobView => c !== undefined);
  const counts = { queued: 0, running: 0, succeeded: 0, failed: 0, canceled: 0 };
  for (const j of jobs) counts[j.status] += 1;
  const finished = counts.succeeded + counts.failed + counts.canceled === jobs.length;
  const status = !finished ? (counts.queued === jobs.length ? 'queued' : 'running') : counts.succeeded === jobs.length ? 'succeeded' : 'failed';
  return { view: { id, type: 'batch', status, total: jobs.length, counts, created_at: new Date(parent.timestamp).toISOString(), jobs }, finished };
}

/** POST /v1/batches (a BullMQ flow: one parent, one child per request), its status and zip. */
export function batchRoutes(deps: LiveAppDeps): Router {
  const router = Router();
  const { config, queues, store, catalog } = deps;

  router.post('/v1/batches', async (req, res) => {
    const body = batchRequestSchema.safeParse(req.body ?? {});
    if (!body.success) throw validationError(body.error);
    const requests = body.data.requests;
    if (requests.length > config.MAX_BATCH_REQUESTS) throw new AppError(413, 'batch_too_large', `at most ${config.MAX_BATCH_REQUESTS} requests per batch`);
    const batchId = newJobId('batch');
    const owner = principalOf(req);
    const options = defaultJobOptions(queues.policy);
    // Resolve every request before staging anything, so a bad one rejects the batch cleanly.
    const resolved = requests.map((r, i) =>
      r.type === 'generation'
        ? { type: r.type, params: resolveGenerationParams(r, catalog, config, ['requests', i]), seedGiven: r.seed !== undefined }
        : { type: r.type, params: resolveClassificationParams(r, catalog, ['requests', i]), images: r.images.map((img, j) => decodeBase64Image(img, `requests.${i}.images.${j}`)) },
    );
    checkBatchCost(resolved.flatMap((r) => (r.type === 'generation' ? [r.params] : [])), config);
    const webhooks = await Promise.all(requests.map((r, i) => resolveWebhook(r.webhook, config, ['requests', i])));
    // One quota check for the whole batch; its children share the fair-share priority.
    const priority = await admitJobs(deps.redis, queues, admissionPolicy(deps), owner, resolved[0].type, resolved.length);
    const children: FlowChildJob[] = [];
    try {
      for (const [i, r] of resolved.entries()) {
        const id = newJobId(r.type);
        const common = { owner, request_id: String(req.id), webhook: webhooks[i] };
        const data: JobPayload =
          r.type === 'generation'
            ? { ...common, type: 'generation', params: r.params, cacheable: r.seedGiven }
            : { ...common, type: 'classification', params: r.params, inputs: await stageImages(r.images, id, store, config) };
        children.push({ name: r.type, queueName: r.type, data, opts: { ...options, jobId: id, priority, ignoreDependencyOnFailure: true } });
      }
      const payload: BatchPayload = { type: 'batch', owner, children: children.map((c) => String(c.opts?.jobId)), request_id: String(req.id) };
      await queues.flow.add({ name: 'batch', queueName: 'batch', data: payload, opts: { ...options, jobId: batchId }, children });
      await trackJobs(deps.redis, config.QUEUE_PREFIX, owner, payload.children);
    } catch (err) {
      await Promise.all(children.map((c) => store.removePrefix(jobPrefix(String(c.opts?.jobId))).catch(() => undefined)));
      throw err;
    }
    // `Prefer: wait=N`: the parent finishes once every child has.
    const wait = preferredWait(req.get('prefer'), config.MAX_PREFER_WAIT_SECONDS);
    const finished = wait !== undefined && (await waitForFinish(deps, batchId, wait, res));
    if (wait !== undefined) res.set('Preference-Applied', `wait=${wait}`).vary('Prefer');
    res.status(finished ? 200 : 202).location(`/v1/batches/${batchId}`).json((await viewBatch(deps, owner, batchId)).view);
  });

  router.get('/v1/batches/:id', async (req, res) => {
    res.json((await viewBatch(deps, principalOf(req), req.params.id)).view);
  });

  router.get('/v1/batches/:id/archive', async (req, res) => {
    const { view, finished } = await viewBatch(deps, principalOf(req), req.params.id);
    if (!finished) throw new AppError(409, 'batch_not_finished', `batch ${view.id} is ${view.status}; its zip is available once every job has finished`);
    const entries: ZipEntry[] = [];
    const jobs: unknown[] = [];
    for (const [index, jobView] of view.jobs.entries()) {
      const job = await findJob(deps, principalOf(req), jobView.id);
      const folder = `${String(index).padStart(3, '0')}-${jobView.id}/`;
      const files = jobArchiveEntries(deps, job, jobView, folder);
      entries.push(...files.entries);
      jobs.push({ folder, ...files.manifest });
    }
    const { jobs: _jobs, ...summary } = view;
    const manifest = Buffer.from(JSON.stringify({ ...summary, jobs }, null, 2));
    await sendZip(res, `${view.id}.zip`, [...entries, { name: 'manifest.json', open: async () => manifest }]);
  });

  return router;
}
