import { Router } from 'express';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../errors';
import { requestCancel } from '../../jobs/job-cancellation';
import { jobTypeOf } from '../../jobs/job-types';
import type { AppDeps } from '../app-deps';
import { principalOf } from '../api-key-auth';
import { findJob, jobArchiveEntries, requireSucceeded, viewOf } from '../job-lookup';
import { sendZip } from '../zip-stream';

/** GET/DELETE /v1/jobs/:id, its images and its zip. */
export function jobRoutes(deps: AppDeps): Router {
  const router = Router();

  router.get('/v1/jobs/:id', async (req, res) => {
    const job = await findJob(deps, principalOf(req), req.params.id);
    res.json(await viewOf(deps, job));
  });

  router.delete('/v1/jobs/:id', async (req, res) => {
    const job = await findJob(deps, principalOf(req), req.params.id);
    const view = await viewOf(deps, job);
    if (['succeeded', 'failed'].includes(view.status)) {
      throw new AppError(
        409,
        'job_finished',
        `job ${view.id} has already ${view.status === 'succeeded' ? 'succeeded' : 'failed'}`,
      );
    }
    if (view.status !== 'canceled') {
      await requestCancel(deps.redis, deps.config.redis.prefix, view.id, deps.config.jobs.retentionSeconds);
    }
    res.status(202).json(await viewOf(deps, job));
  });

  router.get('/v1/jobs/:id/images/:index', async (req, res) => {
    const job = await findJob(deps, principalOf(req), req.params.id);
    const view = await viewOf(deps, job);
    requireSucceeded(view);
    const type = jobTypeOf(job.data);
    if (!type.makesImages)
      throw new AppError(404, 'no_images', `job ${view.id} is a ${job.data.type} job and has no output images`);
    const image = type.outputImages(job.returnvalue).find((i) => String(i.index) === req.params.index);
    if (!image) throw new AppError(404, 'image_not_found', `job ${view.id} has no image ${req.params.index}`);
    if (deps.config.storage.s3.presignedUrls && deps.store.presignedUrl) {
      // The bucket serves the bytes; the redirect is cached for less time than the URL lives.
      const seconds = deps.config.storage.s3.presignSeconds;
      res.set('Cache-Control', `private, max-age=${Math.floor(seconds / 2)}`);
      return res.redirect(302, await deps.store.presignedUrl(image.key, seconds));
    }
    const stream = await deps.store.open(image.key);
    res.set({
      'Content-Type': image.content_type,
      'Content-Length': String(image.bytes),
      'Cache-Control': 'private, max-age=86400, immutable',
    });
    // Not pipe(): a client that goes away must release the file or the S3 connection too.
    pipeline(stream, res).catch(() => undefined);
  });

  router.get('/v1/jobs/:id/archive', async (req, res) => {
    const job = await findJob(deps, principalOf(req), req.params.id);
    const view = await viewOf(deps, job);
    requireSucceeded(view);
    const { entries, manifest } = jobArchiveEntries(deps, job, view);
    const manifestEntry = { name: 'manifest.json', open: async () => Buffer.from(JSON.stringify(manifest, null, 2)) };
    await sendZip(res, `${view.id}.zip`, [...entries, manifestEntry]);
  });

  return router;
}
