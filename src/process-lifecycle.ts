import { createLogger, type Logger } from './logger';
import { ConfigError, loadConfig, type Config } from './config';
import { ListenError } from './http/server-listen';
import { ModelCatalogError } from './models/model-catalog';
import { lowerThreadPoolPriority } from './thread-pool';

/** Exit codes of a start that a restart cannot fix: bad variables, and other setup problems (sysexits' EX_CONFIG). */
const CONFIG_EXIT_CODE = 2;
const SETUP_EXIT_CODE = 78;

/** Whether a process exited because of its setup: a supervisor should stop rather than restart it. */
export const isSetupFailure = (code: number | null) => code === CONFIG_EXIT_CODE || code === SETUP_EXIT_CODE;

/** Loads config or exits listing every bad variable. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(CONFIG_EXIT_CODE);
    }
    throw err;
  }
}

/**
 * The start of every darkroom process: its config (or an exit listing the bad variables), libuv's
 * thread pool lowered in priority, then its logger.
 */
export function startProcess(role: string): { config: Config; logger: Logger } {
  const config = loadConfigOrExit();
  const pool = lowerThreadPoolPriority(config.threads.poolNice);
  const logger = createLogger(config.log.level, role);
  if (pool.warning)
    logger.warn({ nice: pool.nice, reason: pool.warning }, "could not lower the priority of libuv's thread pool");
  else if (pool.threads)
    logger.debug({ nice: pool.nice, threads: pool.threads }, "libuv's thread pool runs at lower priority");
  return { config, logger };
}

/** Prints startup failures people can fix (bad manifests, a busy port) in plain words, without a stack trace. */
export function exitOnStartupError(logger: Logger, err: unknown): never {
  if (err instanceof ModelCatalogError || err instanceof ConfigError || err instanceof ListenError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(SETUP_EXIT_CODE);
  }
  logger.fatal({ err }, 'failed to start');
  process.exit(1);
}

/** Runs `shutdown` once on SIGTERM/SIGINT, then exits; a second signal exits at once. */
export function onShutdownSignal(logger: Logger, shutdown: (signal: string) => Promise<void>): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      logger.info({ signal }, 'shutting down');
      shutdown(signal).then(
        () => process.exit(0),
        (err) => {
          logger.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}
