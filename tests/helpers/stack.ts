import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_MODELS, DIST, FIXTURE_MODELS, requireBuilt } from './paths';
import { startTestRedis, type RedisSettings, type TestRedis } from './redis-server';

/** A real process of ours (API or worker) with its output captured. */
export interface ServerProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first log line (parsed JSON) matching `test`. */
  waitForLog(test: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `dist/<script>` with `env` on top of this process's environment (and in `cwd` when given). */
export function runProcess(script: string, env: NodeJS.ProcessEnv, cwd?: string): ServerProcess {
  const child = spawn(process.execPath, [path.join(DIST, script)], {
    env: { ...process.env, ...env },
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const lines: Record<string, unknown>[] = [];
  const waiters: { test: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] =
    [];
  let partial = '';
  const onData = (d: Buffer) => {
    out = (out + d).slice(-200_000);
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text);
      } catch {
        line = { msg: text };
      }
      lines.push(line);
      for (const w of [...waiters]) {
        if (!w.test(line)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return {
    child,
    output: () => out,
    waitForLog(test, timeoutMs = 60_000) {
      const found = lines.find(test);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for a log line from ${script}; output:\n${out.slice(-3000)}`)),
          timeoutMs,
        );
        const onExit = () =>
          reject(
            new Error(
              `${script} exited (${child.exitCode ?? child.signalCode}) before the expected log line; output:\n${out.slice(-3000)}`,
            ),
          );
        child.once('exit', onExit);
        waiters.push({ test, resolve: (l) => (clearTimeout(timer), child.off('exit', onExit), resolve(l)) });
      });
    },
    stop(signal = 'SIGTERM') {
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      });
    },
  };
}

/** Resolves with the exit code once `p` exits by itself; rejects after `timeoutMs` with its output. */
export function waitForExit(p: ServerProcess, timeoutMs = 60_000): Promise<number | null> {
  const { child } = p;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`still running after ${timeoutMs} ms; output:\n${p.output().slice(-3000)}`)),
      timeoutMs,
    );
    // 'close', not 'exit': by then the output has been read to the end.
    child.once('close', (code) => (clearTimeout(timer), resolve(code)));
  });
}

export interface StackOptions {
  /** redis-server settings on top of the test defaults (appendonly, noeviction). */
  redis?: RedisSettings;
  workers?: number;
  env?: NodeJS.ProcessEnv;
  workerEnv?: NodeJS.ProcessEnv;
  /** Start Redis and the API only; call addWorker later. */
  noWorkers?: boolean;
}

/** Redis + API + worker processes, each real, on free ports and private temp dirs. */
export interface Stack {
  redis: TestRedis;
  url: string;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  api: ServerProcess;
  workers: ServerProcess[];
  addWorker(env?: NodeJS.ProcessEnv): Promise<ServerProcess>;
  stop(): Promise<void>;
}

export const ADMIN_PASSWORD = 'test-admin-password';

async function waitUntilReady(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline)
      throw new Error(`the API at ${url} was not ready after ${timeoutMs} ms (last /readyz: ${status})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The stack's own MODELS_PATH mixes the demos with real fixture models, where darkroom would prefer
 * the real ones as defaults; the tests that name no model were written against the demos, so they
 * are pinned. A test of the defaults sets MODELS_PATH (and DEFAULT_*) itself.
 */
const PINNED_DEFAULTS = { DEFAULT_GENERATION_MODEL: 'demo-diffusion', DEFAULT_CLASSIFICATION_MODEL: 'demo-colors' };

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  requireBuilt();
  const redis = await startTestRedis(opts.redis);
  return { redis, ...(await startStackOn({ env: { REDIS_URL: redis.url }, stop: () => redis.stop() }, opts)) };
}

/** Any Redis the processes reach through environment variables (a Sentinel group, a Cluster...), stopped with the stack. */
export interface RedisDeployment {
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** The API and workers of startStack on a Redis started elsewhere; `opts.redis` does not apply. */
export async function startStackOn(redis: RedisDeployment, opts: StackOptions = {}): Promise<Omit<Stack, 'redis'>> {
  requireBuilt();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-data-'));
  const env: NodeJS.ProcessEnv = {
    ...redis.env,
    DATA_DIR: dataDir,
    MODELS_PATH: [DEMO_MODELS, FIXTURE_MODELS].join(','),
    ...(opts.env?.MODELS_PATH === undefined ? PINNED_DEFAULTS : {}),
    ADMIN_PASSWORD,
    PORT: '0',
    LOG_LEVEL: 'info',
    LOCK_DURATION_MS: '5000',
    STALLED_INTERVAL_MS: '1000',
    ...opts.env,
  };
  const api = runProcess('src/api-main.js', env);
  const listening = await api.waitForLog((l) => l.msg === 'darkroom API listening');
  const workers: ServerProcess[] = [];
  const addWorker = async (extra: NodeJS.ProcessEnv = {}) => {
    const worker = runProcess('workers/main.js', { ...env, ...opts.workerEnv, ...extra });
    workers.push(worker);
    await worker.waitForLog((l) => l.msg === 'worker ready', 120_000);
    return worker;
  };
  try {
    // The API listens before its Redis connection is ready (it answers 503 until then, as in an
    // outage); tests start from a ready API, as a load balancer's readiness probe would.
    await waitUntilReady(String(listening.url));
    if (!opts.noWorkers) for (let i = 0; i < (opts.workers ?? 1); i++) await addWorker();
  } catch (err) {
    await api.stop();
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await redis.stop();
    throw err;
  }
  return {
    url: String(listening.url),
    dataDir,
    env,
    api,
    workers,
    addWorker,
    async stop() {
      await Promise.all([api.stop(), ...workers.map((w) => w.stop())]);
      await redis.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
