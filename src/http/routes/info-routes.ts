import { Router } from 'express';
import { describeModel } from '../../models/model-catalog';
import { errorBody } from '../../errors';
import type { AppDeps } from '../app-deps';

/** Health, readiness and the model list. */
export function infoRoutes({ redis, catalog }: AppDeps): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const ok = await Promise.race([
      redis.ping().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((r) => setTimeout(() => r(false), 500)),
    ]);
    if (ok) res.json({ status: 'ready' });
    else res.status(503).json(errorBody('redis_unavailable', 'Redis does not answer'));
  });

  router.get('/v1/models', (_req, res) => {
    res.json({ models: catalog.entries.map((e) => describeModel(e, catalog.defaultJobsOf(e))) });
  });

  return router;
}
