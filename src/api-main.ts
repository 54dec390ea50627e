// First: it finds libuv's thread pool before any other module can start it.
import './thread-pool';
import { startApiServer } from './api-server';
import { startBanner } from './start-banner';
import { exitOnStartupError, startProcess, onShutdownSignal } from './process-lifecycle';

/** `npm run start:api`: the API role alone; workers run elsewhere against the same Redis. */
async function main() {
  const { config, logger } = startProcess('api');
  const api = await startApiServer(config, logger).catch((err) => exitOnStartupError(logger, err));
  // For a person at a terminal; under a supervisor stdout carries JSON log lines only.
  if (process.stdout.isTTY) process.stdout.write(startBanner(api.url, api.catalog));
  onShutdownSignal(logger, () => api.close());
}

void main();
