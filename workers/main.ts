// First: it finds libuv's thread pool before any other module can start it.
import '../src/thread-pool';
import { exitOnStartupError, startProcess, onShutdownSignal } from '../src/process-lifecycle';
import { startWorkerProcess } from './worker-process';

/** `npm run start:worker`: a worker process; run as many as the machines allow, against one Redis. */
async function main() {
  const { config, logger } = startProcess('worker');
  const worker = await startWorkerProcess(config, logger).catch((err) => exitOnStartupError(logger, err));
  onShutdownSignal(logger, () => worker.close());
}

void main();
