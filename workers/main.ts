import { createLogger } from '../src/logger';
import { exitOnStartupError, loadConfigOrExit, onShutdownSignal } from '../src/process-lifecycle';
import { startWorkerProcess } from './worker-process';

/** `npm run start:worker`: a worker process; run as many as the machines allow, against one Redis. */
async function main() {
  const config = loadConfigOrExit();
  const logger = createLogger(config.log.level, 'worker');
  const worker = await startWorkerProcess(config, logger).catch((err) => exitOnStartupError(logger, err));
  onShutdownSignal(logger, () => worker.close());
}

void main();
