// First: it finds libuv's thread pool before any other module can start it.
import './thread-pool';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startApiServer } from './api-server';
import type { Config, ModelSettings } from './config';
import { maskUrlCredentials } from './log-redaction';
import type { Logger } from './logger';
import { startBanner } from './start-banner';
import { exitOnStartupError, isSetupFailure, onShutdownSignal, startProcess } from './process-lifecycle';
import {
  hasRedisServer,
  isPortOpen,
  REDIS_INSTALL_HINT,
  startLocalRedis,
  type LocalRedis,
} from './redis/local-redis-server';

/**
 * `npm start`: everything on one machine. Uses REDIS_URL, or Redis on 127.0.0.1:6379, or starts a
 * redis-server of its own; builds the demo models if missing; runs the API here and one worker
 * process beside it (restarted if it dies).
 */
const DIST = path.resolve(__dirname, '..');
const REPO = path.resolve(DIST, '..');

async function resolveRedis(
  config: Pick<Config, 'redis' | 'storage'>,
  logger: Logger,
): Promise<LocalRedis | undefined> {
  if (config.redis.givenUrl || config.redis.target.kind !== 'standalone' || !config.redis.autoStart) return undefined;
  if (await isPortOpen('127.0.0.1', 6379)) return undefined;
  if (!hasRedisServer()) {
    process.stderr.write(
      `No Redis answers on 127.0.0.1:6379 and no redis-server is installed. Install it with:\n  ${REDIS_INSTALL_HINT}\nor set REDIS_URL.\n`,
    );
    process.exit(1);
  }
  const local = await startLocalRedis(path.join(config.storage.dataDir, 'redis'), 6379);
  logger.info(
    { url: maskUrlCredentials(local.url), dir: path.join(config.storage.dataDir, 'redis') },
    'started a local redis-server (appendonly, noeviction)',
  );
  return local;
}

/** Builds the demo models on the first start, and brings them up to date (a no-op when they are) on later ones. */
function ensureDemoModels(models: ModelSettings, logger: Logger): void {
  const demoDir = path.join(REPO, 'models', 'demo');
  if (!models.path.includes(demoDir)) return;
  const firstStart = !fs.existsSync(demoDir);
  if (firstStart) logger.info('building the demo models (first start)');
  const built = spawnSync(process.execPath, [path.join(DIST, 'scripts', 'build-demo-models.js'), demoDir], {
    stdio: 'inherit',
  });
  if (built.status === 0) return;
  if (firstStart) throw new Error('building the demo models failed');
  // A read-only install still serves the demos it has; they may lack "demo": true until rebuilt.
  logger.warn({ dir: demoDir }, 'could not bring the demo models up to date; run `npm run models:build`');
}

/** Runs the worker process, restarted when it dies; `onSetupFailure` when it cannot start at all (its own output said why). */
function superviseWorker(
  env: NodeJS.ProcessEnv,
  logger: Logger,
  onSetupFailure: (code: number) => void,
): { stop(): Promise<void> } {
  let child: ChildProcess | undefined;
  let stopping = false;
  const start = () => {
    child = spawn(process.execPath, [path.join(DIST, 'workers', 'main.js')], { env, stdio: 'inherit' });
    child.on('exit', (code, signal) => {
      if (stopping) return;
      // A busy metrics port or a bad manifest fails the same way every time: restarting would only repeat it.
      if (isSetupFailure(code)) return onSetupFailure(code ?? 1);
      logger.error({ code, signal }, 'worker process exited; restarting in 1 s');
      setTimeout(start, 1000);
    });
  };
  start();
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function main() {
  const { config, logger } = startProcess('main');
  try {
    const redis = await resolveRedis(config, logger);
    const local = redis && { ...config.redis, url: redis.url, target: { kind: 'standalone' as const, url: redis.url } };
    ensureDemoModels(config.models, logger);
    const api = await startApiServer({ ...config, redis: local ?? config.redis }, logger);
    const stopAll = async () => {
      await api.close();
      await worker.stop();
      await redis?.stop();
    };
    const worker = superviseWorker({ ...process.env, ...(redis && { REDIS_URL: redis.url }) }, logger, (code) => {
      void stopAll().finally(() => process.exit(code));
    });
    process.stdout.write(startBanner(api.url, api.catalog));
    onShutdownSignal(logger, stopAll);
  } catch (err) {
    exitOnStartupError(logger, err);
  }
}

void main();
