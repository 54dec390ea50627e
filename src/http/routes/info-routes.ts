import { Router } from 'express';
import { describeFleetModel } from '../../fleet/model-status';
import { errorBody } from '../../errors';
import type { AppDeps } from '../app-deps';

/** Health, readiness and the model list. */
export function infoRoutes({ redis, catalog, queues }: AppDeps): Router {
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

  router.get('/v1/models', async (_req, res) => {
    res.json({ models: await Promise.all(catalog.entries.map((e) => describeFleetModel(e, catalog, queues))) });
  });

  return router;
}
