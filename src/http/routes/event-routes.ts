import { Router } from 'express';
import type { LiveAppDeps } from '../app-deps';
import { principalOf } from '../api-key-auth';
import { streamJobEvents } from '../job-event-stream';
import { findJob } from '../job-lookup';

/** GET /v1/jobs/:id/events: the job's status, progress and final state as server-sent events (at most MAX_OPEN_STREAMS_PER_KEY open per client). */
export function eventRoutes(deps: LiveAppDeps): Router {
  const router = Router();

  router.get('/v1/jobs/:id/events', async (req, res) => {
    const job = await findJob(deps, principalOf(req), req.params.id);
    deps.openStreams.open(req, res);
    await streamJobEvents(deps, req, res, job);
  });

  return router;
}
