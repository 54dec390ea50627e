import type { RedisTarget } from '../redis/redis-target';
import type { Env } from './env-schema';
import type { Config, HttpSettings, LimitSettings, RedisSettings, StorageSettings, WorkerSettings } from './sections';

/** What loadConfig works out beyond the variables themselves: resolved folders and the final key prefix. */
export interface Resolved {
  dataDir: string;
  modelsDir: string;
  modelsPath: string[];
  prefix: string;
}

/** The validated environment as loadConfig returns it: in sections with camelCase names. */
export function toSections(c: Env, resolved: Resolved): Config {
  return {
    http: httpSettings(c),
    limits: limitSettings(c),
    redis: redisSettings(c, resolved.prefix),
    worker: workerSettings(c),
    storage: storageSettings(c, resolved.dataDir),
    jobs: {
      attempts: c.JOB_ATTEMPTS,
      retentionSeconds: c.JOB_RETENTION_SECONDS,
      blobSweepIntervalSeconds: c.BLOB_SWEEP_INTERVAL_SECONDS,
      blobSweepGraceSeconds: c.BLOB_SWEEP_GRACE_SECONDS,
      modelWaitSeconds: c.MODEL_WAIT_SECONDS,
      shutdownGraceMs: c.SHUTDOWN_GRACE_MS,
    },
    webhooks: {
      secret: c.WEBHOOK_SECRET,
      allowedHosts: c.WEBHOOK_ALLOWED_HOSTS,
      attempts: c.WEBHOOK_ATTEMPTS,
      backoffMs: c.WEBHOOK_BACKOFF_MS,
      timeoutMs: c.WEBHOOK_TIMEOUT_MS,
      concurrency: c.WEBHOOK_CONCURRENCY,
    },
    models: {
      path: resolved.modelsPath,
      dir: resolved.modelsDir,
      defaults: {
        generation: c.DEFAULT_GENERATION_MODEL,
        classification: c.DEFAULT_CLASSIFICATION_MODEL,
        image_to_image: c.DEFAULT_IMAGE_TO_IMAGE_MODEL,
      },
      hfEndpoint: c.HF_ENDPOINT,
      hfToken: c.HF_TOKEN,
    },
    auth: { apiKeys: c.API_KEYS, apiKeysFile: c.API_KEYS_FILE },
    admin: { writeMode: c.ADMIN_WRITE_MODE, user: c.ADMIN_USER, password: c.ADMIN_PASSWORD },
    log: { level: c.LOG_LEVEL },
    threads: { poolNice: c.THREAD_POOL_NICE },
  };
}

function httpSettings(c: Env): HttpSettings {
  return {
    port: c.PORT,
    host: c.HOST,
    publicUrl: c.PUBLIC_URL,
    trustProxy: c.TRUST_PROXY,
    requestTimeoutMs: c.REQUEST_TIMEOUT_MS,
    headersTimeoutMs: c.HEADERS_TIMEOUT_MS,
    keepAliveTimeoutMs: c.KEEP_ALIVE_TIMEOUT_MS,
    maxConnections: c.MAX_CONNECTIONS,
    openaiWaitSeconds: c.OPENAI_WAIT_SECONDS,
    maxPreferWaitSeconds: c.MAX_PREFER_WAIT_SECONDS,
    sseHeartbeatSeconds: c.SSE_HEARTBEAT_SECONDS,
    metricsPublic: c.METRICS_PUBLIC,
  };
}

function limitSettings(c: Env): LimitSettings {
  return {
    maxUploadBytes: c.MAX_UPLOAD_BYTES,
    maxJsonBytes: c.MAX_JSON_BYTES,
    maxJsonDepth: c.MAX_JSON_DEPTH,
    maxImagePixels: c.MAX_IMAGE_PIXELS,
    maxImagesPerRequest: c.MAX_IMAGES_PER_REQUEST,
    maxPromptLength: c.MAX_PROMPT_LENGTH,
    maxBatchRequests: c.MAX_BATCH_REQUESTS,
    maxJobMegapixelSteps: c.MAX_JOB_MEGAPIXEL_STEPS,
    ratePerMinute: c.RATE_LIMIT_PER_MINUTE,
    downloadRatePerMinute: c.DOWNLOAD_RATE_LIMIT_PER_MINUTE,
    maxJobsInFlightPerKey: c.MAX_JOBS_IN_FLIGHT_PER_KEY,
    maxQueueDepth: c.MAX_QUEUE_DEPTH,
    maxOpenStreamsPerKey: c.MAX_OPEN_STREAMS_PER_KEY,
  };
}

function workerSettings(c: Env): WorkerSettings {
  return {
    queues: c.WORKER_QUEUES,
    concurrency: c.WORKER_CONCURRENCY,
    modelMemoryMb: c.WORKER_MODEL_MEMORY_MB,
    coldStartDelayMs: c.COLD_START_DELAY_MS,
    modelsWatchMs: c.MODELS_WATCH_MS,
    maxBatchSize: c.MAX_BATCH_SIZE,
    ortProviders: c.ORT_EXECUTION_PROVIDERS,
    ortIntraOpThreads: c.ORT_INTRA_OP_THREADS,
    inferenceNice: c.WORKER_INFERENCE_NICE,
    watchdogMs: c.WORKER_WATCHDOG_MS,
    lockDurationMs: c.LOCK_DURATION_MS,
    stalledIntervalMs: c.STALLED_INTERVAL_MS,
    maxStalledCount: c.MAX_STALLED_COUNT,
    metricsPort: c.WORKER_METRICS_PORT,
    metricsHost: c.WORKER_METRICS_HOST,
    resultCacheMb: c.RESULT_CACHE_MB,
    resultCacheTtlSeconds: c.RESULT_CACHE_TTL_SECONDS,
  };
}

function storageSettings(c: Env, dataDir: string): StorageSettings {
  return {
    dataDir,
    blobStore: c.BLOB_STORE,
    s3: {
      bucket: c.S3_BUCKET,
      region: c.S3_REGION,
      endpoint: c.S3_ENDPOINT,
      forcePathStyle: c.S3_FORCE_PATH_STYLE,
      accessKeyId: c.S3_ACCESS_KEY_ID,
      secretAccessKey: c.S3_SECRET_ACCESS_KEY,
      prefix: c.S3_PREFIX,
      presignedUrls: c.S3_PRESIGNED_URLS,
      presignSeconds: c.S3_PRESIGN_SECONDS,
    },
  };
}

function redisSettings(c: Env, prefix: string): RedisSettings {
  const url = c.REDIS_URL ?? 'redis://127.0.0.1:6379';
  return {
    url,
    givenUrl: c.REDIS_URL,
    target: redisTarget(c, url),
    prefix,
    waitReplicas: c.REDIS_WAIT_REPLICAS,
    waitTimeoutMs: c.REDIS_WAIT_TIMEOUT_MS,
    autoStart: c.AUTO_REDIS,
  };
}

/** Where Redis is: a Cluster, a primary behind sentinels, or one server. */
function redisTarget(c: Env, url: string): RedisTarget {
  if (c.REDIS_CLUSTER_NODES) return { kind: 'cluster', nodes: c.REDIS_CLUSTER_NODES, password: c.REDIS_PASSWORD };
  if (c.REDIS_SENTINELS)
    return {
      kind: 'sentinel',
      sentinels: c.REDIS_SENTINELS,
      masterName: c.REDIS_SENTINEL_MASTER ?? '',
      sentinelPassword: c.REDIS_SENTINEL_PASSWORD,
      password: c.REDIS_PASSWORD,
    };
  return { kind: 'standalone', url };
}
