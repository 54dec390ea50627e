import { z } from 'zod';
import { parseHostPorts } from '../redis/redis-target';

/** The environment darkroom reads, validated; loadConfig (src/config.ts) turns it into sections. */

/** Comma-separated list -> trimmed, non-empty entries. */
const list = z.string().transform((s) =>
  s
    .split(/[,:]/)
    .map((p) => p.trim())
    .filter(Boolean),
);

/** `host:port,host:port` -> parsed entries. */
const hostPorts = z.string().transform((s, ctx) => {
  try {
    return parseHostPorts(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));

/** Blob store settings that only make sense together. */
function checkBlobStore(c: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const problem = (variable: string, message: string) => ctx.addIssue({ code: 'custom', path: [variable], message });
  if (c.BLOB_STORE === 's3' && !c.S3_BUCKET) problem('S3_BUCKET', 'required when BLOB_STORE=s3');
  if (!c.S3_ACCESS_KEY_ID !== !c.S3_SECRET_ACCESS_KEY)
    problem(
      c.S3_ACCESS_KEY_ID ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID',
      'set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither',
    );
  if (c.S3_PRESIGNED_URLS === true && c.BLOB_STORE !== 's3') problem('S3_PRESIGNED_URLS', 'needs BLOB_STORE=s3');
}

export const envSchema = z
  .object({
    /** HTTP port of the API. */
    PORT: int(0, 65535).default(3000),
    /** Address the API binds to; anything but loopback without API keys is loudly reported. */
    HOST: z.string().min(1).default('127.0.0.1'),
    /** The API's public base URL (e.g. https://images.example.com) for the absolute URLs it returns; unset: taken from the request. */
    PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    /** Which proxies' X-Forwarded-* headers to believe: `false` (none), `true` (any), `loopback`, or addresses/CIDRs, comma separated. */
    TRUST_PROXY: z.string().min(1).default('false'),
    /** Longest time to receive one whole request (headers and body); slower clients get 408. */
    REQUEST_TIMEOUT_MS: int(1000, 3_600_000).default(60_000),
    /** Longest time to receive a request's headers. */
    HEADERS_TIMEOUT_MS: int(1000, 600_000).default(15_000),
    /** How long an idle keep-alive connection stays open. */
    KEEP_ALIVE_TIMEOUT_MS: int(100, 600_000).default(5_000),
    /** Open connections the API accepts at once; more are refused. */
    MAX_CONNECTIONS: int(1, 1_000_000).default(4096),
    /** Open event streams plus waiting requests (`Prefer: wait`, the OpenAI route) per key (per client address when open). */
    MAX_OPEN_STREAMS_PER_KEY: int(1, 100_000).default(64),
    /** Deepest nesting of arrays and objects a JSON body may have. */
    MAX_JSON_DEPTH: int(2, 1000).default(32),
    /** Zip downloads (job and batch archives) per key (per client address when open) per minute. */
    DOWNLOAD_RATE_LIMIT_PER_MINUTE: int(1).default(120),
    /** Largest cost of one generation or image-to-image job, or of a batch's items summed: width x height x steps x n / 10^6. */
    MAX_JOB_MEGAPIXEL_STEPS: z.coerce.number().positive().default(1000),
    /** Redis for queues and job state; unset means 127.0.0.1:6379, or a local redis-server `npm start` runs. */
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    /** Sentinels to ask for the primary (`host:port,host:port,...`); instead of REDIS_URL. */
    REDIS_SENTINELS: hostPorts.optional(),
    /** The name the sentinels monitor the primary under; required with REDIS_SENTINELS. */
    REDIS_SENTINEL_MASTER: z.string().min(1).optional(),
    /** Password of the sentinels themselves, when they have one. */
    REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
    /** Redis Cluster nodes to start from (`host:port,...`; any few masters will do); instead of REDIS_URL. */
    REDIS_CLUSTER_NODES: hostPorts.optional(),
    /** Password of the Redis servers with REDIS_SENTINELS or REDIS_CLUSTER_NODES (REDIS_URL carries its own). */
    REDIS_PASSWORD: z.string().min(1).optional(),
    /** After creating jobs the API waits (Redis WAIT) until this many replicas have them, before answering 202; 0: no wait. */
    REDIS_WAIT_REPLICAS: int(0, 100).default(0),
    /** The longest that wait lasts; the job is accepted either way (see README, Guarantees). */
    REDIS_WAIT_TIMEOUT_MS: int(1, 60_000).default(1000),
    /** Folders scanned for model manifests (comma or colon separated); relative to the working directory. Default: the package's models/demo and MODELS_DIR. */
    MODELS_PATH: list.optional(),
    /** The model a generation request (and the OpenAI route) runs on when it names none. Unset: a real model before a demo. Checked at start. */
    DEFAULT_GENERATION_MODEL: z.string().min(1).optional(),
    /** The model a classification request runs on when it names none. Unset: a real model before a demo. */
    DEFAULT_CLASSIFICATION_MODEL: z.string().min(1).optional(),
    /** The model an image-to-image request runs on when it names none. Unset: a real model before a demo. */
    DEFAULT_IMAGE_TO_IMAGE_MODEL: z.string().min(1).optional(),
    /** Where `darkroom models pull` installs models (one folder each); default DATA_DIR/models. It may not exist yet. */
    MODELS_DIR: z.string().min(1).optional(),
    /** The Hugging Face Hub, or any server speaking its HTTP API, that `darkroom models pull` downloads from. */
    HF_ENDPOINT: z.url({ protocol: /^https?$/ }).default('https://huggingface.co'),
    /** A Hub access token, for gated and private repositories. */
    HF_TOKEN: z.string().min(1).optional(),
    /** Where the filesystem blob store and a self-started Redis keep their data; relative to the working directory, the default to the package. */
    DATA_DIR: z.string().min(1).default('data'),
    /** Where inputs and results live: `fs` (DATA_DIR/blobs; shared filesystem for many machines) or `s3` (a bucket). */
    BLOB_STORE: z.enum(['fs', 's3']).default('fs'),
    /** The bucket; required when BLOB_STORE=s3. */
    S3_BUCKET: z.string().min(1).optional(),
    S3_REGION: z.string().min(1).default('us-east-1'),
    /** An S3-compatible service (MinIO, R2, ...); unset means AWS. */
    S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    /** `bucket` in the path instead of the host name (MinIO and most self-hosted services need it). */
    S3_FORCE_PATH_STYLE: bool.default(false),
    /** Static credentials (both or neither); unset means the default AWS credential chain. */
    S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    /** Key prefix in the bucket, so several deployments can share one. */
    S3_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/?$/, 'letters, digits, _ . - separated by /')
      .optional(),
    /** GET /v1/jobs/{id}/images/{i} redirects (302) to a presigned bucket URL instead of streaming through the API. */
    S3_PRESIGNED_URLS: bool.default(false),
    /** How long a presigned URL is valid (S3 allows at most 7 days). */
    S3_PRESIGN_SECONDS: int(1, 604_800).default(900),
    /** API keys, `name:key` or `name:sha256:<hex>` separated by commas; with none, the API runs open. */
    API_KEYS: z.string().optional(),
    /** A file of API keys, one per line in the same forms (digests keep plaintext off the disk). */
    API_KEYS_FILE: z.string().optional(),
    /** Submissions (POSTs) per key (or per client address when open) per minute. */
    RATE_LIMIT_PER_MINUTE: int(1).default(600),
    /** Queued plus running jobs one key may have; more is a 429 with Retry-After. */
    MAX_JOBS_IN_FLIGHT_PER_KEY: int(1).default(1000),
    /** Jobs waiting in one queue before submissions are refused with 503 and Retry-After. */
    MAX_QUEUE_DEPTH: int(1).default(100_000),
    /** Bull Board may retry, remove and promote jobs (read-only otherwise). */
    ADMIN_WRITE_MODE: bool.default(false),
    /** Bull Board credentials; a random password is generated and printed once when unset. */
    ADMIN_USER: z.string().min(1).default('admin'),
    ADMIN_PASSWORD: z.string().min(8, 'at least 8 characters').optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Prefix of every Redis key darkroom writes (several deployments can share one Redis). */
    // Braces allowed: on Redis Cluster BullMQ needs a hash-tag prefix such as {darkroom}.
    QUEUE_PREFIX: z
      .string()
      .regex(/^(\{[A-Za-z0-9_-]+\}|[A-Za-z0-9_-]+)$/)
      .default('darkroom'),
    /** onnxruntime execution providers in order of preference. */
    ORT_EXECUTION_PROVIDERS: list
      .pipe(z.array(z.enum(['cuda', 'cpu', 'tensorrt', 'dml', 'coreml', 'webgpu'])).min(1))
      .default(['cpu']),
    /** Threads onnxruntime uses inside one inference; 0 means half the machine's cores (at least 1). */
    ORT_INTRA_OP_THREADS: int(0, 256).default(0),
    /** Nice value of the inference threads (Linux, per thread): above 0, inference takes the CPU an API or the worker's own main thread leaves on a shared machine; 0 leaves it unchanged. */
    WORKER_INFERENCE_NICE: int(0, 19).default(10),
    /** Nice value of libuv's thread pool, where sharp decodes and encodes (Linux, per thread; API and worker): above 0, the event loop (HTTP answers, /healthz, lock renewals) gets a core before bulk image work; 0 leaves it unchanged. */
    THREAD_POOL_NICE: int(0, 19).default(5),
    /** Which job queues this worker consumes. */
    WORKER_QUEUES: list
      .pipe(z.array(z.enum(['generation', 'classification', 'image_to_image', 'batch', 'webhooks'])).min(1))
      .default(['generation', 'classification', 'image_to_image', 'batch', 'webhooks']),
    /** Jobs a worker process runs at once per queue (they share each model's batching runner). */
    WORKER_CONCURRENCY: int(1, 256).default(8),
    /** MB of models a worker may hold (RAM on CPU, device memory with CUDA); set: models load on their first job and idle ones unload to make room. */
    WORKER_MODEL_MEMORY_MB: int(1).optional(),
    /** A worker that would have to load a model takes its jobs after they waited this long while a warm worker holds it (at once when the warm ones are busy). */
    COLD_START_DELAY_MS: int(0).default(2000),
    /** How long a job waits for a worker that serves its model (none live now) before it fails as model_unavailable. */
    MODEL_WAIT_SECONDS: int(1).default(600),
    /** How often a worker looks for model folders added to or removed from MODELS_PATH (SIGHUP looks at once). */
    MODELS_WATCH_MS: int(0).default(2000),
    /** Caps every model's max_batch_size; 1 turns cross-job batching off (for comparisons). */
    MAX_BATCH_SIZE: int(1, 1024).optional(),
    /** Results of identical work (same model, parameters, input bytes or explicit seed) kept per worker; 0 disables. */
    RESULT_CACHE_MB: int(0, 1_000_000).default(256),
    RESULT_CACHE_TTL_SECONDS: int(1).default(3600),
    /** Attempts per job before it fails (a crashed worker's job is retried). */
    JOB_ATTEMPTS: int(1, 100).default(3),
    /** How long finished jobs and their files are kept. */
    JOB_RETENTION_SECONDS: int(1).default(86_400),
    /** How often workers remove the files of expired jobs, and how long files outlive their job at least. */
    BLOB_SWEEP_INTERVAL_SECONDS: int(1).default(600),
    BLOB_SWEEP_GRACE_SECONDS: int(0).default(60),
    /** BullMQ lock: a job whose worker stops renewing it for this long is considered stalled. */
    LOCK_DURATION_MS: int(1000).default(30_000),
    STALLED_INTERVAL_MS: int(500).default(15_000),
    /** Stalls (crashed worker holding the job) tolerated before the job fails. */
    MAX_STALLED_COUNT: int(0, 100).default(3),
    /** Grace period for draining on SIGTERM: the API finishes its requests, a worker its jobs (then hands them back). */
    SHUTDOWN_GRACE_MS: int(0).default(30_000),
    /** A queue worker that looks stuck this long (Redis ready, jobs waiting, none taken) is recreated; 0 disables. */
    WORKER_WATCHDOG_MS: int(0).default(30_000),
    /** Largest multipart/form-data request, all parts together. */
    MAX_UPLOAD_BYTES: int(1).default(20 * 1024 * 1024),
    /** Largest JSON body, after any Content-Encoding is inflated. */
    MAX_JSON_BYTES: int(1).default(32 * 1024 * 1024),
    /** Largest decoded image accepted (width x height). */
    MAX_IMAGE_PIXELS: int(1).default(40_000_000),
    MAX_IMAGES_PER_REQUEST: int(1, 1024).default(16),
    MAX_PROMPT_LENGTH: int(1).default(2000),
    MAX_BATCH_REQUESTS: int(1, 10_000).default(100),
    /** How long POST /v1/images/generations (OpenAI-compatible) waits for its job before answering 504 with the job's URL. */
    OPENAI_WAIT_SECONDS: int(1, 3600).default(120),
    /** Longest `Prefer: wait=N` a submission may ask for (the request holds until its job finishes, or N seconds); 0 ignores the header. */
    MAX_PREFER_WAIT_SECONDS: int(0, 3600).default(60),
    /** Seconds between keep-alive comments on an idle job event stream (GET /v1/jobs/{id}/events), so proxies keep it open. */
    SSE_HEARTBEAT_SECONDS: int(1, 300).default(15),
    /** GET /metrics without credentials; false puts it behind the admin user and password. */
    METRICS_PUBLIC: bool.default(true),
    /** A worker also serves its own Prometheus metrics on this port (the API's /metrics already shows the fleet). */
    WORKER_METRICS_PORT: int(1, 65535).optional(),
    /** Address the worker's metrics listen on; loopback unless a scraper elsewhere needs them. */
    WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    /** Signs webhook deliveries (HMAC-SHA256); API and workers need the same one. Unset: requests with a webhook are refused. */
    WEBHOOK_SECRET: z.string().min(16, 'at least 16 characters').optional(),
    /** Hosts or addresses webhooks may reach although they are not public (loopback, private, ...), comma separated. */
    WEBHOOK_ALLOWED_HOSTS: z
      .string()
      .transform((s) =>
        s
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean),
      )
      .default([]),
    /** Tries per webhook delivery, with exponential backoff from WEBHOOK_BACKOFF_MS (2 s, 4 s, 8 s, ...). */
    WEBHOOK_ATTEMPTS: int(1, 50).default(8),
    WEBHOOK_BACKOFF_MS: int(1).default(2000),
    /** How long a receiver may take to answer one delivery. */
    WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
    /** Deliveries a worker process sends at once. */
    WEBHOOK_CONCURRENCY: int(1, 1000).default(16),
    /** Start a local redis-server when REDIS_URL is unset and nothing answers (npm start only). */
    AUTO_REDIS: bool.default(true),
  })
  // These run even when other variables are bad, so every problem is listed.
  .superRefine(checkBlobStore, { when: () => true })
  .superRefine(checkRedis, { when: () => true });

export type Env = z.infer<typeof envSchema>;

/** Redis settings that only make sense together. */
function checkRedis(c: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const problem = (variable: string, message: string) => ctx.addIssue({ code: 'custom', path: [variable], message });
  const kinds = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'].filter((v) => c[v] !== undefined);
  if (kinds.length > 1) problem(kinds[1], `set only one of ${kinds.join(', ')}`);
  if (c.REDIS_SENTINELS && !c.REDIS_SENTINEL_MASTER) problem('REDIS_SENTINEL_MASTER', 'required with REDIS_SENTINELS');
  if (!c.REDIS_SENTINELS && (c.REDIS_SENTINEL_MASTER || c.REDIS_SENTINEL_PASSWORD))
    problem(c.REDIS_SENTINEL_MASTER ? 'REDIS_SENTINEL_MASTER' : 'REDIS_SENTINEL_PASSWORD', 'needs REDIS_SENTINELS');
  if (c.REDIS_PASSWORD && c.REDIS_URL) problem('REDIS_PASSWORD', 'put the password in REDIS_URL instead');
  if (c.REDIS_CLUSTER_NODES) {
    if (c.REDIS_WAIT_REPLICAS) problem('REDIS_WAIT_REPLICAS', 'not supported on a Redis Cluster');
  }
}
