import { parentPort, workerData } from 'node:worker_threads';
import { runOpenLoop } from './load-generators';

/**
 * The /healthz probe's own thread: with an event loop of its own, a response is timed when it
 * arrives, not when the closed-loop clients' callbacks in the benchmark's main thread let it run,
 * as a health checker in its own process would see it. Stops on any message and posts its result.
 */
const { url, rate } = workerData as { url: string; rate: number };
let stopped = false;
parentPort!.once('message', () => {
  stopped = true;
});
void runOpenLoop(
  rate,
  3600,
  async () => {
    const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  },
  () => stopped,
).then((result) => parentPort!.postMessage(result));
