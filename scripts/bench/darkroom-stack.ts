import { Redis } from 'ioredis';
import { CONFIG_VARIABLES } from '../../src/config';
import type { BenchOptions } from './bench-options';
import { MODELS_PATH } from './bench-paths';
import { makeTempDir, removeTempDir } from './cleanup';
import { answers, freePort, launchNode, waitUntil, type Launched } from './process-launcher';
import type { BenchRedis } from './redis-launcher';

/** darkroom's API and workers as real processes from dist/, on a private Redis and data folder. */
export interface DarkroomStack {
  url: string;
  api: Launched;
  workers: Launched[];
  prefix: string;
  startWorker(env?: NodeJS.ProcessEnv): Promise<Launched>;
  stopWorkers(): Promise<void>;
  stop(): Promise<void>;
  /** session.run counts per runner and the workers' CPU, summed over live workers (from their heartbeats, up to 2 s old). */
  workerStats(): Promise<WorkerStats>;
}

export interface RunnerStats {
  runs: number;
  items: number;
  /** CPU time of session.run on the inference threads, ms. */
  cpuMs: number;
}

export interface WorkerStats {
  runners: Map<string, RunnerStats>;
  /** The worker processes' CPU time, ms, as of the same heartbeats as `runners`. */
  processCpuMs: number;
  /** Full collections of the workers' main-thread heaps so far, as of the same heartbeats (undefined from workers that do not report them). */
  majorGcs?: number;
}

export type StackSettings = Pick<BenchOptions, 'logLevel' | 'workerConcurrency' | 'workerThreads'> & {
  /** Extra node flags for the API and every worker (e.g. --cpu-prof --cpu-prof-dir=...). */
  nodeArgs?: string[];
};

/** The environment both roles share; darkroom variables inherited from the shell are dropped so they cannot skew a run. */
function baseEnv(redis: BenchRedis, dataDir: string, settings: StackSettings, prefix: string): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !CONFIG_VARIABLES.includes(k)));
  return {
    ...inherited,
    REDIS_URL: redis.url,
    DATA_DIR: dataDir,
    MODELS_PATH: MODELS_PATH.join(','),
    QUEUE_PREFIX: prefix,
    ADMIN_PASSWORD: 'bench-admin-password',
    HOST: '127.0.0.1',
    LOG_LEVEL: settings.logLevel,
    WORKER_CONCURRENCY: String(settings.workerConcurrency),
    ORT_INTRA_OP_THREADS: String(settings.workerThreads),
    // Repeated photos and seeds must be computed every time, not served from the result cache.
    RESULT_CACHE_MB: '0',
    SHUTDOWN_GRACE_MS: '2000',
    // All clients share one address: the limits still count every submission in Redis (that cost
    // is measured) but never refuse the benchmark's.
    RATE_LIMIT_PER_MINUTE: '1000000000',
    MAX_JOBS_IN_FLIGHT_PER_KEY: '1000000000',
    MAX_QUEUE_DEPTH: '1000000000',
  };
}

/** Starts the API (and `workers` workers), each waited for: the API until /readyz, a worker until its heartbeat is in Redis. */
export async function startDarkroomStack(
  redis: BenchRedis,
  settings: StackSettings,
  workers = 1,
  prefix = 'darkroom',
): Promise<DarkroomStack> {
  const dataDir = makeTempDir('data');
  const env = baseEnv(redis, dataDir, settings, prefix);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  const api = launchNode('darkroom API', 'src/api-main.js', { ...env, PORT: String(port) }, settings.nodeArgs);
  const stack: DarkroomStack = {
    url,
    api,
    workers: [],
    prefix,
    async startWorker(extra = {}) {
      const worker = launchNode(
        `darkroom worker ${stack.workers.length + 1}`,
        'workers/main.js',
        { ...env, ...extra },
        settings.nodeArgs,
      );
      stack.workers.push(worker);
      // The heartbeat is written after every queue's consumer started (worker-process.ts).
      await waitUntil(
        'the worker heartbeat',
        worker,
        async () => (await client.keys(`${prefix}:workers:*-${worker.pid}-*`)).length > 0,
        180_000,
      );
      return worker;
    },
    async stopWorkers() {
      await Promise.all(stack.workers.map((w) => w.stop()));
      stack.workers = [];
    },
    async workerStats() {
      const runners = new Map<string, RunnerStats>();
      let processCpuMs = 0;
      let majorGcs: number | undefined;
      const keys = await client.keys(`${prefix}:workers:*`);
      const beats = keys.length ? await client.mget(keys) : [];
      for (const beat of beats) {
        const {
          models = [],
          cpu_ms = 0,
          gc_major,
        } = JSON.parse(beat ?? '{}') as {
          models?: (Omit<RunnerStats, 'cpuMs'> & { name: string; cpuMs?: number })[];
          cpu_ms?: number;
          gc_major?: number;
        };
        processCpuMs += cpu_ms;
        if (gc_major !== undefined) majorGcs = (majorGcs ?? 0) + gc_major;
        for (const m of models) {
          const s = runners.get(m.name) ?? { runs: 0, items: 0, cpuMs: 0 };
          runners.set(m.name, { runs: s.runs + m.runs, items: s.items + m.items, cpuMs: s.cpuMs + (m.cpuMs ?? 0) });
        }
      }
      return { runners, processCpuMs, majorGcs };
    },
    async stop() {
      await stack.stopWorkers();
      await api.stop();
      client.disconnect();
      removeTempDir(dataDir);
    },
  };
  try {
    await waitUntil('the API to answer /readyz', api, () => answers(`${url}/readyz`));
    for (let i = 0; i < workers; i++) await stack.startWorker();
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}
