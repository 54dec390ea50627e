import type { JobType } from '../jobs/job-contract';
import type { RedisTarget } from '../redis/redis-target';

/**
 * What loadConfig returns: the validated environment in sections, so each module takes the one or
 * two it needs. Each field notes the variable it comes from (see src/config.ts for their meaning).
 */

/** The API's HTTP server and how it answers. */
export interface HttpSettings {
  port: number; // PORT
  host: string; // HOST
  publicUrl?: string; // PUBLIC_URL
  trustProxy: string; // TRUST_PROXY
  requestTimeoutMs: number; // REQUEST_TIMEOUT_MS
  headersTimeoutMs: number; // HEADERS_TIMEOUT_MS
  keepAliveTimeoutMs: number; // KEEP_ALIVE_TIMEOUT_MS
  maxConnections: number; // MAX_CONNECTIONS
  openaiWaitSeconds: number; // OPENAI_WAIT_SECONDS
  maxPreferWaitSeconds: number; // MAX_PREFER_WAIT_SECONDS
  sseHeartbeatSeconds: number; // SSE_HEARTBEAT_SECONDS
  metricsPublic: boolean; // METRICS_PUBLIC
}

/** What one client or request may ask for. */
export interface LimitSettings {
  maxUploadBytes: number; // MAX_UPLOAD_BYTES
  maxJsonBytes: number; // MAX_JSON_BYTES
  maxJsonDepth: number; // MAX_JSON_DEPTH
  maxImagePixels: number; // MAX_IMAGE_PIXELS
  maxImagesPerRequest: number; // MAX_IMAGES_PER_REQUEST
  maxPromptLength: number; // MAX_PROMPT_LENGTH
  maxBatchRequests: number; // MAX_BATCH_REQUESTS
  maxJobMegapixelSteps: number; // MAX_JOB_MEGAPIXEL_STEPS
  ratePerMinute: number; // RATE_LIMIT_PER_MINUTE
  downloadRatePerMinute: number; // DOWNLOAD_RATE_LIMIT_PER_MINUTE
  maxJobsInFlightPerKey: number; // MAX_JOBS_IN_FLIGHT_PER_KEY
  maxQueueDepth: number; // MAX_QUEUE_DEPTH
  maxOpenStreamsPerKey: number; // MAX_OPEN_STREAMS_PER_KEY
}

/** Where Redis is and how darkroom's keys are named in it. */
export interface RedisSettings {
  /** The plain server's URL (REDIS_URL or its default); with Sentinel or Cluster, `target` says where Redis is. */
  url: string;
  /** REDIS_URL as given (unset: darkroom may start a local server). */
  givenUrl?: string;
  /** Which Redis every connection goes to (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES). */
  target: RedisTarget;
  prefix: string; // QUEUE_PREFIX
  waitReplicas: number; // REDIS_WAIT_REPLICAS
  waitTimeoutMs: number; // REDIS_WAIT_TIMEOUT_MS
  autoStart: boolean; // AUTO_REDIS
}

export type WorkerQueueName = 'generation' | 'classification' | 'image_to_image' | 'batch' | 'webhooks';
export type ExecutionProvider = 'cuda' | 'cpu' | 'tensorrt' | 'dml' | 'coreml' | 'webgpu';

/** A worker process: what it consumes and how it runs models. */
export interface WorkerSettings {
  queues: WorkerQueueName[]; // WORKER_QUEUES
  concurrency: number; // WORKER_CONCURRENCY
  modelMemoryMb?: number; // WORKER_MODEL_MEMORY_MB
  coldStartDelayMs: number; // COLD_START_DELAY_MS
  modelsWatchMs: number; // MODELS_WATCH_MS
  maxBatchSize?: number; // MAX_BATCH_SIZE
  ortProviders: ExecutionProvider[]; // ORT_EXECUTION_PROVIDERS
  ortIntraOpThreads: number; // ORT_INTRA_OP_THREADS
  inferenceNice: number; // WORKER_INFERENCE_NICE
  watchdogMs: number; // WORKER_WATCHDOG_MS
  lockDurationMs: number; // LOCK_DURATION_MS
  stalledIntervalMs: number; // STALLED_INTERVAL_MS
  maxStalledCount: number; // MAX_STALLED_COUNT
  metricsPort?: number; // WORKER_METRICS_PORT
  metricsHost: string; // WORKER_METRICS_HOST
  resultCacheMb: number; // RESULT_CACHE_MB
  resultCacheTtlSeconds: number; // RESULT_CACHE_TTL_SECONDS
}

/** An S3 (or compatible) bucket for inputs and results. */
export interface S3Settings {
  bucket?: string; // S3_BUCKET
  region: string; // S3_REGION
  endpoint?: string; // S3_ENDPOINT
  forcePathStyle: boolean; // S3_FORCE_PATH_STYLE
  accessKeyId?: string; // S3_ACCESS_KEY_ID
  secretAccessKey?: string; // S3_SECRET_ACCESS_KEY
  prefix?: string; // S3_PREFIX
  presignedUrls: boolean; // S3_PRESIGNED_URLS
  presignSeconds: number; // S3_PRESIGN_SECONDS
}

/** Where files live. */
export interface StorageSettings {
  /** DATA_DIR, resolved. */
  dataDir: string;
  blobStore: 'fs' | 's3'; // BLOB_STORE
  s3: S3Settings;
}

/** Jobs' life: attempts, how long they are kept, how long they may wait, how long a shutdown drains. */
export interface JobSettings {
  attempts: number; // JOB_ATTEMPTS
  retentionSeconds: number; // JOB_RETENTION_SECONDS
  blobSweepIntervalSeconds: number; // BLOB_SWEEP_INTERVAL_SECONDS
  blobSweepGraceSeconds: number; // BLOB_SWEEP_GRACE_SECONDS
  modelWaitSeconds: number; // MODEL_WAIT_SECONDS
  shutdownGraceMs: number; // SHUTDOWN_GRACE_MS
}

export interface WebhookSettings {
  secret?: string; // WEBHOOK_SECRET
  allowedHosts: string[]; // WEBHOOK_ALLOWED_HOSTS
  attempts: number; // WEBHOOK_ATTEMPTS
  backoffMs: number; // WEBHOOK_BACKOFF_MS
  timeoutMs: number; // WEBHOOK_TIMEOUT_MS
  concurrency: number; // WEBHOOK_CONCURRENCY
}

export interface ModelSettings {
  /** MODELS_PATH, resolved (default: the package's models/demo and `dir`). */
  path: string[];
  /** MODELS_DIR, resolved (default DATA_DIR/models). */
  dir: string;
  /** DEFAULT_GENERATION_MODEL, DEFAULT_CLASSIFICATION_MODEL, DEFAULT_IMAGE_TO_IMAGE_MODEL. */
  defaults: Partial<Record<JobType, string>>;
  hfEndpoint: string; // HF_ENDPOINT
  hfToken?: string; // HF_TOKEN
}

export interface AuthSettings {
  apiKeys?: string; // API_KEYS
  apiKeysFile?: string; // API_KEYS_FILE
}

/** Bull Board. */
export interface AdminSettings {
  writeMode: boolean; // ADMIN_WRITE_MODE
  user: string; // ADMIN_USER
  password?: string; // ADMIN_PASSWORD
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LogSettings {
  level: LogLevel; // LOG_LEVEL
}

/** How a process's threads share the CPU. */
export interface ThreadSettings {
  poolNice: number; // THREAD_POOL_NICE
}

export interface Config {
  http: HttpSettings;
  limits: LimitSettings;
  redis: RedisSettings;
  worker: WorkerSettings;
  storage: StorageSettings;
  jobs: JobSettings;
  webhooks: WebhookSettings;
  models: ModelSettings;
  auth: AuthSettings;
  admin: AdminSettings;
  log: LogSettings;
  threads: ThreadSettings;
}
