import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { loadApiKeys } from './auth/api-keys';
import { createWebhookQueue } from './webhooks/webhook-queue';
import { isLoopbackHost, type Config } from './config';
import { createApp } from './http/app';
import { ADMIN_PATH } from './http/admin-board';
import { createHttpServer } from './http/http-server';
import { createServerDrain } from './http/server-drain';
import { listen } from './http/server-listen';
import { createJobEventHub } from './jobs/job-event-hub';
import { JOB_TYPES } from './jobs/job-contract';
import { createJobQueues } from './jobs/job-queues';
import { createWorkerDirectory } from './jobs/worker-directory';
import type { Logger } from './logger';
import { loadModelCatalog, type ModelCatalog } from './models/model-catalog';
import { createFleetCatalog } from './fleet/fleet-catalog';
import { startModelWaitTimer } from './fleet/model-wait';
import { checkRedisPolicy, createRedis } from './redis/redis-connection';
import { createRedisErrorLog } from './redis/redis-reconnect';
import { createReplicaFence } from './redis/replica-fence';
import { describeRedis } from './redis/redis-target';
import { createBlobStore } from './storage/create-blob-store';

export interface ApiServer {
  server: Server;
  url: string;
  catalog: ModelCatalog;
  close(): Promise<void>;
}

/** Starts the API: Redis connection, queues, blob store, model catalog, HTTP listener. */
export async function startApiServer(config: Config, logger: Logger): Promise<ApiServer> {
  const local = loadModelCatalog(config.modelsPath, [config.modelsDir], config);
  logger.info(
    {
      models: local.entries.map((e) => `${e.manifest.name} (${e.manifest.kind}${e.manifest.demo ? ', demo' : ''})`),
      defaults: Object.fromEntries(JOB_TYPES.map((job) => [job, local.defaultFor(job)?.manifest.name ?? null])),
    },
    'model catalog loaded (the live workers add theirs)',
  );
  const redisErrors = createRedisErrorLog(logger, describeRedis(config.redis));
  const redis = redisErrors.watch(createRedis(config.redis, 'api'));
  const workers = createWorkerDirectory(redis, config.QUEUE_PREFIX);
  const catalog = createFleetCatalog(local, redis, config.QUEUE_PREFIX, workers.list, (err) =>
    redisErrors.report(err, {}, 'fleet catalog not refreshed'),
  );
  // Not awaited: the API answers 503 until Redis is ready, and the timer reads it again each second.
  void catalog.refresh().catch(() => undefined);
  redis.once('ready', () => {
    void checkRedisPolicy(redis).then((warning) => warning && logger.warn(warning));
  });
  const queueError = (err: Error, queue: string) => redisErrors.report(err, { queue }, 'queue error');
  const queues = createJobQueues(
    redis,
    { prefix: config.QUEUE_PREFIX, attempts: config.JOB_ATTEMPTS, retentionSeconds: config.JOB_RETENTION_SECONDS },
    queueError,
    catalog.modelsOf,
  );
  const store = createBlobStore(config);
  let password = config.ADMIN_PASSWORD;
  if (!password) {
    password = randomBytes(12).toString('base64url');
    // Printed once, to stdout, so an operator starting the server by hand can log in.
    process.stdout.write(
      `darkroom admin: ${ADMIN_PATH} user "${config.ADMIN_USER}" password "${password}" (set ADMIN_PASSWORD to choose one)\n`,
    );
  }
  const keys = loadApiKeys(config.API_KEYS, config.API_KEYS_FILE);
  if (!keys.enabled && !isLoopbackHost(config.HOST)) {
    logger.warn(
      `NO API KEYS ARE CONFIGURED and the API listens on ${config.HOST}: anyone who can reach it can submit jobs and read every result. Set API_KEYS or API_KEYS_FILE.`,
    );
  }
  const replicas = config.REDIS_WAIT_REPLICAS
    ? createReplicaFence(
        redisErrors.watch(createRedis(config.redis, 'api')),
        `${config.QUEUE_PREFIX}:replica-fence`,
        config.REDIS_WAIT_REPLICAS,
        config.REDIS_WAIT_TIMEOUT_MS,
      )
    : undefined;
  const takerConnection = redisErrors.watch(createRedis(config.redis, 'worker'));
  const stopWaits = startModelWaitTimer({
    redis,
    takerConnection,
    queues,
    catalog,
    waitSeconds: config.MODEL_WAIT_SECONDS,
    logger,
  });
  const events = createJobEventHub({ redis, queues, target: config.redis, redisErrors });
  // Webhook deliveries are internal jobs, but operators should see them in Bull Board too.
  const webhookQueue = createWebhookQueue(redis, config);
  webhookQueue.on('error', (err) => queueError(err, webhookQueue.name));
  const app = createApp(
    { config, logger, redis, queues, store, catalog, keys, events, workers, replicas },
    { user: config.ADMIN_USER, password, extraQueues: [webhookQueue] },
  );
  const server = createHttpServer(app, config);
  const { port } = await listen(server, { port: config.PORT, host: config.HOST, what: 'the API', variable: 'PORT' });
  const drain = createServerDrain(server);
  const url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  logger.info({ url }, 'darkroom API listening');
  return {
    server,
    url,
    catalog,
    async close() {
      // New connections are refused at once; requests in flight get SHUTDOWN_GRACE_MS to finish.
      const closed = drain.drain(config.SHUTDOWN_GRACE_MS);
      // Ends the event streams and `Prefer: wait` requests still open, which would hold the server.
      await events.close();
      await closed;
      catalog.close();
      stopWaits();
      await Promise.all([queues.close(), webhookQueue.close()]);
      redis.disconnect();
      replicas?.close();
      takerConnection.disconnect();
    },
  };
}
