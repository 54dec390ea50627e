import { Router } from 'express';
import { AppError } from '../../errors';
import type { BatchPayload } from '../../jobs/job-contract';
import type { JobView } from '../../jobs/job-view';
import type { AppDeps, LiveAppDeps } from '../app-deps';
import { principalOf } from '../api-key-auth';
import { submitBatch } from '../batch-submission';
import { validationError } from '../error-handler';
import { fingerprint, idempotent } from '../idempotency';
import { findJob, jobArchiveEntries, viewOf } from '../job-lookup';
import { jsonBody } from '../json-body';
import { waitIfPreferred } from '../prefer-wait';
import { batchRequestSchema } from '../request-schemas';
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
  const status = !finished
    ? counts.queued === jobs.length
      ? 'queued'
      : 'running'
    : counts.succeeded === jobs.length
      ? 'succeeded'
      : 'failed';
  return {
    view: {
      id,
      type: 'batch',
      status,
      total: jobs.length,
      counts,
      created_at: new Date(parent.timestamp).toISOString(),
      jobs,
    },
    finished,
  };
}

/** POST /v1/batches (a BullMQ flow: one parent, one child per request), its status and zip. */
export function batchRoutes(deps: LiveAppDeps): Router {
  const router = Router();
  const { config } = deps;

  router.post('/v1/batches', jsonBody(config.limits), async (req, res) => {
    const body = batchRequestSchema.safeParse(req.body ?? {});
    if (!body.success) throw validationError(body.error);
    const { id } = await idempotent(
      deps,
      req,
      () => fingerprint('batch', JSON.stringify(body.data)),
      () => submitBatch(deps, req, body.data.requests),
    );
    // `Prefer: wait=N`: the parent finishes once every child has.
    const finished = await waitIfPreferred(deps, res, id);
    res
      .status(finished ? 200 : 202)
      .location(`/v1/batches/${id}`)
      .json((await viewBatch(deps, principalOf(req), id)).view);
  });

  router.get('/v1/batches/:id', async (req, res) => {
    res.json((await viewBatch(deps, principalOf(req), req.params.id)).view);
  });

  router.get('/v1/batches/:id/archive', async (req, res) => {
    const { view, finished } = await viewBatch(deps, principalOf(req), req.params.id);
    if (!finished)
      throw new AppError(
        409,
        'batch_not_finished',
        `batch ${view.id} is ${view.status}; its zip is available once every job has finished`,
      );
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
