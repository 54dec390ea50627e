import type { RedisClient } from '../../src/redis/redis-connection';
import type { Config } from '../../src/config';
import { parseModelQueue } from '../../src/fleet/model-queues';
import { waitingCount } from '../../src/jobs/bullmq-internals';
import { createWorkerDirectory, type WorkerDirectory } from '../../src/jobs/worker-directory';
import type { Logger } from '../../src/logger';
import { interval, type Component, type Resource } from '../components/component';
import type { QueueWorkers } from '../components/queue-workers';
import type { ModelPool } from './model-pool';
import { modelQueuesOf } from './served-queues';

export interface ColdGateDeps {
  config: Pick<Config, 'worker' | 'redis'>;
  logger: Logger;
  /** This worker's id, to tell its own heartbeat from the others'. */
  id: string;
  redis: Resource<RedisClient>;
  pool: Resource<ModelPool>;
  workers: QueueWorkers;
}

const TICK_MS = 500;

/**
 * Whether a queue's worker starts paused until the gate's first decision: with a memory budget, a
 * model queue of a model this worker has not loaded. Otherwise a fetch issued before that decision
 * takes a job that a warm worker should have had.
 */
export function startsCold(worker: Config['worker'], loadedNames: () => string[]): (queue: string) => boolean {
  return (queue) => {
    const model = parseModelQueue(queue)?.model;
    return worker.modelMemoryMb !== undefined && model !== undefined && !loadedNames().includes(model);
  };
}

/**
 * Warm first: a worker that would have to load a model leaves its jobs to the live workers that
 * hold it. Its queue worker for that model is paused while another worker holds the model, and
 * resumed when the model's jobs have waited COLD_START_DELAY_MS, when more of them wait than the
 * warm workers can run at once, or when no warm worker is left. Models this worker holds are
 * always taken. Only with WORKER_MODEL_MEMORY_MB: without it every model is loaded at start.
 */
export function coldGate(deps: ColdGateDeps): Component {
  const { config, logger } = deps;
  const waitingSince = new Map<string, number>();
  const decided = new WeakSet<object>();
  let directory: WorkerDirectory | undefined;

  const decide = async (queue: string, warm: { concurrency?: number }[]): Promise<boolean> => {
    if (!warm.length) return true;
    const entry = deps.workers.current().find((c) => c.queue === queue);
    if (!entry) return true;
    const counts = await waitingCount(deps.redis.value, entry.worker);
    if (counts === 0) {
      waitingSince.delete(queue);
      return false;
    }
    if (counts > warm.reduce((sum, w) => sum + (w.concurrency ?? 1), 0)) return true;
    const since = waitingSince.get(queue) ?? Date.now();
    waitingSince.set(queue, since);
    return Date.now() - since >= config.worker.coldStartDelayMs;
  };

  const tick = async () => {
    const pool = deps.pool.value;
    const loaded = new Set(pool.loadedNames());
    directory ??= createWorkerDirectory(deps.redis.value, config.redis.prefix);
    const others = (await directory.list()).filter((w) => w.id !== deps.id);
    for (const entry of pool.served()) {
      const name = entry.manifest.name;
      const warm = loaded.has(name) ? [] : others.filter((w) => w.loaded?.includes(name));
      for (const queue of modelQueuesOf(entry, config.worker)) {
        const take = loaded.has(name) || (await decide(queue, warm));
        const worker = deps.workers.current().find((c) => c.queue === queue)?.worker;
        if (!worker) continue;
        // A queue worker starts paused (queue-workers.ts, startsPaused): its first decision is logged too.
        const first = !decided.has(worker);
        decided.add(worker);
        if (!first && take === !worker.isPaused()) continue;
        if (take && worker.isPaused()) worker.resume();
        if (!take && !worker.isPaused()) void worker.pause(true);
        logger.info({ queue }, take ? 'cold model: taking its jobs' : 'cold model: leaving its jobs to warm workers');
      }
    }
  };
  let ticking = false;
  return interval('cold gate', config.worker.modelMemoryMb === undefined ? 2 ** 30 : TICK_MS, () => {
    if (ticking || config.worker.modelMemoryMb === undefined) return;
    ticking = true;
    void tick()
      .catch((err: Error) => logger.debug({ err: err.message }, 'cold gate check failed; the next one tries again'))
      .finally(() => (ticking = false));
  });
}
