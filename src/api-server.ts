import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import type { Server } from 'node:http';
import { loadApiKeys, type ApiKeyStore } from './auth/api-keys';
import { createWebhookQueue } from './webhooks/webhook-queue';
import {
  isLoopbackHost,
  type AdminSettings,
  type Config,
  type HttpSettings,
  type ModelSettings,
  type RedisSettings,
} from './config';
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
import { createRedisErrorLog, type RedisErrorLog } from './redis/redis-reconnect';
import { createReplicaFence, type ReplicaFence } from './redis/replica-fence';
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
  const local = loadLocalModels(config.models, logger);
  const { redis, redisErrors, workers, catalog, queues, queueError } = openJobState(config, local, logger);
  const store = createBlobStore(config.storage);
  const password = adminPassword(config.admin);
  const keys = apiKeys(config, logger);
  const replicas = replicaFence(config.redis, redisErrors);
  const takerConnection = redisErrors.watch(createRedis(config.redis.target, 'worker'));
  const waitSeconds = config.jobs.modelWaitSeconds;
  const stopWaits = startModelWaitTimer({ redis, takerConnection, queues, catalog, waitSeconds, logger });
  const events = createJobEventHub({ redis, queues, target: config.redis.target, redisErrors });
  // Webhook deliveries are internal jobs, but operators should see them in Bull Board too.
  const webhookQueue = createWebhookQueue(redis, config);
  webhookQueue.on('error', (err) => queueError(err, webhookQueue.name));
  const app = createApp(
    { config, logger, redis, queues, store, catalog, keys, events, workers, replicas },
    { user: config.admin.user, password, extraQueues: [webhookQueue] },
  );
  const { server, url, drain } = await listenHttp(app, config.http, logger);
  return {
    server,
    url,
    catalog,
    async close() {
      // New connections are refused at once; requests in flight get SHUTDOWN_GRACE_MS to finish.
      const closed = drain.drain(config.jobs.shutdownGraceMs);
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

/** The models in this machine's MODELS_PATH, logged with the defaults they give. */
function loadLocalModels(models: ModelSettings, logger: Logger): ModelCatalog {
  const local = loadModelCatalog(models.path, [models.dir], models.defaults);
  logger.info(
    {
      models: local.entries.map((e) => `${e.manifest.name} (${e.manifest.kind}${e.manifest.demo ? ', demo' : ''})`),
      defaults: Object.fromEntries(JOB_TYPES.map((job) => [job, local.defaultFor(job)?.manifest.name ?? null])),
    },
    'model catalog loaded (the live workers add theirs)',
  );
  return local;
}

/** Redis, the live workers, the catalog they and this machine's models make up, and the job queues. */
function openJobState(config: Pick<Config, 'redis' | 'jobs'>, local: ModelCatalog, logger: Logger) {
  const { prefix, target } = config.redis;
  const redisErrors = createRedisErrorLog(logger, describeRedis(target));
  const redis = redisErrors.watch(createRedis(target, 'api'));
  const workers = createWorkerDirectory(redis, prefix);
  const catalog = createFleetCatalog(local, redis, prefix, workers.list, (err) =>
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
    { prefix, attempts: config.jobs.attempts, retentionSeconds: config.jobs.retentionSeconds },
    queueError,
    catalog.modelsOf,
  );
  return { redis, redisErrors, workers, catalog, queues, queueError };
}

/** Bull Board's password: ADMIN_PASSWORD, or a random one printed once. */
function adminPassword(admin: AdminSettings): string {
  if (admin.password) return admin.password;
  const password = randomBytes(12).toString('base64url');
  // Printed once, to stdout, so an operator starting the server by hand can log in.
  process.stdout.write(
    `darkroom admin: ${ADMIN_PATH} user "${admin.user}" password "${password}" (set ADMIN_PASSWORD to choose one)\n`,
  );
  return password;
}

/** The API keys; without any, a loud warning unless the API listens on loopback only. */
function apiKeys({ auth, http }: Pick<Config, 'auth' | 'http'>, logger: Logger): ApiKeyStore {
  const keys = loadApiKeys(auth.apiKeys, auth.apiKeysFile);
  if (!keys.enabled && !isLoopbackHost(http.host)) {
    logger.warn(
      `NO API KEYS ARE CONFIGURED and the API listens on ${http.host}: anyone who can reach it can submit jobs and read every result. Set API_KEYS or API_KEYS_FILE.`,
    );
  }
  return keys;
}

/** With REDIS_WAIT_REPLICAS, what new jobs wait for (replica copies) before their 202. */
function replicaFence(redis: RedisSettings, redisErrors: RedisErrorLog): ReplicaFence | undefined {
  if (!redis.waitReplicas) return undefined;
  return createReplicaFence(
    redisErrors.watch(createRedis(redis.target, 'api')),
    `${redis.prefix}:replica-fence`,
    redis.waitReplicas,
    redis.waitTimeoutMs,
  );
}

/** The HTTP server for `app`, listening on HOST:PORT. */
async function listenHttp(app: Express, http: HttpSettings, logger: Logger) {
  const server = createHttpServer(app, http);
  const { port } = await listen(server, { port: http.port, host: http.host, what: 'the API', variable: 'PORT' });
  const drain = createServerDrain(server);
  const url = `http://${http.host.includes(':') ? `[${http.host}]` : http.host}:${port}`;
  logger.info({ url }, 'darkroom API listening');
  return { server, url, drain };
}
