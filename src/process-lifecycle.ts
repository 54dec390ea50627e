import type { Logger } from './logger';
import { ConfigError, loadConfig, type Config } from './config';
import { ModelCatalogError } from './models/model-catalog';

/** Loads config or exits listing every bad variable. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/** Prints startup failures people can fix (bad manifests) without a stack trace. */
export function exitOnStartupError(logger: Logger, err: unknown): never {
  if (err instanceof ModelCatalogError || err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    logger.fatal({ err }, 'failed to start');
  }
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
