import type { Queue } from 'bullmq';
import express, { type Express, type RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import { randomUUID } from 'node:crypto';
import type { AppDeps, LiveAppDeps } from './app-deps';
import { ADMIN_PATH, adminBoard, basicAuth } from './admin-board';
import { createErrorHandler, notFoundHandler } from './error-handler';
import { batchRoutes } from './routes/batch-routes';
import { eventRoutes } from './routes/event-routes';
import { infoRoutes } from './routes/info-routes';
import { openApiRoutes } from './openapi/openapi-routes';
import { openAiRoutes } from './routes/openai-routes';
import { COMFY_PATHS, comfyAdapter } from './comfy/comfy-adapter';
import { A1111_PATH, a1111Routes } from './a1111/a1111-routes';
import { jobRoutes } from './routes/job-routes';
import { submitRoutes } from './routes/submit-routes';
import { webRoutes } from './routes/web-routes';
import { webhookRoutes } from './routes/webhook-routes';
import { redisUnavailable } from '../errors';
import { createJobEventHub } from '../jobs/job-event-hub';
import { createQueueEstimator } from '../jobs/queue-estimates';
import { createWorkerDirectory } from '../jobs/worker-directory';
import { createApiMetrics } from '../metrics/api-metrics';
import { createRedisErrorLog } from '../redis/redis-reconnect';
import { describeRedis } from '../redis/redis-target';
import { requireApiKey } from './api-key-auth';
import { clientKeyOf, downloadRateLimit, submissionRateLimit } from './rate-limit';
import { createOpenStreams } from './open-streams';
import { trustProxySetting } from './public-address';

/** Answers 503 at once while Redis is unreachable instead of letting requests hang. */
function requireRedis({ redis }: AppDeps): RequestHandler {
  return (_req, _res, next) => {
    if (redis.status !== 'ready') {
      next(redisUnavailable());
      return;
    }
    next();
  };
}

type AdminLogin = { user: string; password: string; extraQueues?: Queue[] };

/** Builds the HTTP app without listening; `main` decides where it listens. */
export function createApp(given: AppDeps, admin: AdminLogin): Express {
  const deps = liveDeps(given);
  const { config } = deps;
  const metrics = createApiMetrics({
    redis: deps.redis,
    queues: deps.queues,
    workers: deps.workers,
    prefix: config.redis.prefix,
    logger: deps.logger,
  });
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', trustProxySetting(config.http.trustProxy));
  app.use(metrics.middleware);
  app.use(requestLogging(deps));
  // Every /v1 route, the model list included, needs a key once keys are configured.
  app.use('/v1', requireApiKey(deps.keys));
  app.use(infoRoutes(deps), webhookRoutes(deps));
  // Prometheus scrapes it; public by default (counts and timings only), admin credentials with METRICS_PUBLIC=false.
  app.get('/metrics', ...(config.http.metricsPublic ? [] : [basicAuth(admin.user, admin.password)]), metrics.handler);
  app.use(openApiRoutes());
  app.use(webRoutes());
  app.use(
    ADMIN_PATH,
    basicAuth(admin.user, admin.password),
    adminBoard(deps.queues, deps.config.admin.writeMode, admin.extraQueues),
  );
  mountApiRoutes(app, deps);
  app.use(notFoundHandler);
  app.use(createErrorHandler(deps.logger));
  return app;
}

/** The deps with what the caller left out made here; these start nothing until used, so an app built only to list its routes opens no connection. */
function liveDeps(given: AppDeps): LiveAppDeps {
  const { redis, queues, config, logger } = given;
  const workers = given.workers ?? createWorkerDirectory(redis, config.redis.prefix);
  return {
    ...given,
    events:
      given.events ??
      createJobEventHub({
        redis,
        queues,
        target: config.redis.target,
        redisErrors: createRedisErrorLog(logger, describeRedis(config.redis.target)),
      }),
    workers,
    estimates: given.estimates ?? createQueueEstimator(redis, queues, workers),
    openStreams: given.openStreams ?? createOpenStreams(config.limits.maxOpenStreamsPerKey, clientKeyOf),
  };
}

/** One log line per request (health checks and scrapes left out), under an X-Request-Id the client may choose. */
function requestLogging(deps: LiveAppDeps): RequestHandler {
  return pinoHttp({
    logger: deps.logger,
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
  });
}

/** The job API under /v1 and the ComfyUI and AUTOMATIC1111 compatible ones, behind keys, Redis and rate limits. */
function mountApiRoutes(app: Express, deps: LiveAppDeps): void {
  app.use('/v1', requireRedis(deps), submissionRateLimit(deps));
  app.use(['/v1/jobs/:id/archive', '/v1/batches/:id/archive'], downloadRateLimit(deps));
  // No body parser here: each route that takes a body reads it (json-body.ts), so an unknown path
  // or a request without a valid key is answered without its body ever being read.
  app.use(openAiRoutes(deps), submitRoutes(deps), jobRoutes(deps), eventRoutes(deps), batchRoutes(deps));
  // ComfyUI's API at the root, keyed like /v1; its websocket is answered by the server's upgrade handler.
  const comfy = comfyAdapter(deps);
  app.use(COMFY_PATHS, requireApiKey(deps.keys), requireRedis(deps), submissionRateLimit(deps));
  app.use(comfy.router);
  app.locals.onUpgrade = comfy.onUpgrade;
  // AUTOMATIC1111's API; its clients send the key as HTTP Basic auth (the password), as for A1111's --api-auth.
  app.use(A1111_PATH, requireApiKey(deps.keys, { basic: true }), requireRedis(deps), submissionRateLimit(deps));
  app.use(a1111Routes(deps));
}
