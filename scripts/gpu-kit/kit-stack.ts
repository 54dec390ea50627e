import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES } from '../../src/config';
import { answers, freePort, launchNode, waitUntil, type Launched } from '../bench/process-launcher';
import type { BenchRedis } from '../bench/redis-launcher';
import { kitPaths } from './kit-layout';

/** A darkroom process of the kit, with its JSON log lines kept (the worker's say which provider each model runs on). */
export interface KitProcess extends Launched {
  lines: Record<string, unknown>[];
}

/** What a worker's logs say about its models: the provider each session really uses, and each fallback. */
export interface WorkerModels {
  /** runner name -> execution provider its session was created with. */
  providers: Record<string, string>;
  /** "execution provider X unavailable: ...; falling back" lines, with their model. */
  fallbacks: { model: string; message: string }[];
}

function withLines(proc: Launched): KitProcess {
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  const onData = (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) {
      try {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        lines.push({ msg: text });
      }
    }
  };
  proc.child.stdout?.on('data', onData);
  proc.child.stderr?.on('data', onData);
  return Object.assign(proc, { lines });
}

/** The API and (one at a time) a worker, on the kit's Redis, data folder and models. */
export interface KitStack {
  url: string;
  api: KitProcess;
  /** Starts a worker on `providers` (stopping the last one) and waits at most `timeoutMs` for it to load its models. */
  startWorker(providers: string[], timeoutMs: number): Promise<{ worker: KitProcess; models: WorkerModels }>;
  stop(): Promise<void>;
}

export async function startKitStack(kit: string, redis: BenchRedis): Promise<KitStack> {
  const p = kitPaths(kit);
  const dataDir = path.join(p.work, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !CONFIG_VARIABLES.includes(k)));
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    REDIS_URL: redis.url,
    DATA_DIR: dataDir,
    MODELS_PATH: [p.demoModels, p.models].join(','),
    QUEUE_PREFIX: 'kit',
    ADMIN_PASSWORD: 'gpu-kit-admin-password',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    // Every provider must compute every job: nothing may come from a cache.
    RESULT_CACHE_MB: '0',
    // A failure is a result to report, not something to retry.
    JOB_ATTEMPTS: '1',
    SHUTDOWN_GRACE_MS: '2000',
    RATE_LIMIT_PER_MINUTE: '1000000',
  };
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const api = withLines(launchNode('darkroom API', 'src/api-main.js', { ...env, PORT: String(port) }));
  let worker: KitProcess | undefined;
  await waitUntil('the API to answer /readyz', api, () => answers(`${url}/readyz`));
  return {
    url,
    api,
    async startWorker(providers, timeoutMs) {
      await worker?.stop();
      worker = withLines(launchNode(`darkroom worker (${providers.join(',')})`, 'workers/main.js', { ...env, ORT_EXECUTION_PROVIDERS: providers.join(',') }));
      const ready = () => worker!.lines.find((l) => l.msg === 'worker ready');
      await waitUntil('the worker to load its models', worker, async () => ready() !== undefined, timeoutMs);
      const models: WorkerModels = { providers: {}, fallbacks: [] };
      for (const entry of (ready()!.models as string[]) ?? []) {
        const at = entry.lastIndexOf('@');
        models.providers[entry.slice(0, at)] = entry.slice(at + 1);
      }
      for (const l of worker.lines) if (typeof l.msg === 'string' && l.msg.includes('falling back')) models.fallbacks.push({ model: String(l.model), message: l.msg });
      return { worker, models };
    },
    async stop() {
      await worker?.stop();
      await api.stop();
    },
  };
}
