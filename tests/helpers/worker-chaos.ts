import { mulberry32 } from '../../workers/generation/seeded-random';
import type { ServerProcess, Stack } from './stack';

/** A small seeded PRNG, so a chaos run can be repeated with the seed it prints. */
export const seededRandom = mulberry32;

export interface ChaosOptions {
  random: () => number;
  /** Pause between kills: uniform in [minGapMs, maxGapMs]. */
  minGapMs: number;
  maxGapMs: number;
  /**
   * Ready workers a kill must leave. A replacement takes seconds to load its models, longer than
   * the pause between kills, so without this the pool drains to one worker that takes every job
   * and every kill: a test of start-up speed, not of recovery.
   */
  keepReady: number;
}

export interface WorkerChaos {
  kills: { pid: number | undefined; at: number }[];
  /** Replacement workers that failed to start. */
  startFailures: string[];
  /** Stops killing and waits until every replacement started has come up (or failed). */
  stop(): Promise<void>;
}

/**
 * Kills (SIGKILL) a random ready worker of `stack` at random moments and starts a replacement
 * each time, as a supervisor would. Only workers that finished starting are killed, so every kill
 * hits a process that takes jobs, and never the last `keepReady` of them.
 */
export function startWorkerChaos(stack: Stack, opts: ChaosOptions): WorkerChaos {
  const ready = new Set<ServerProcess>(stack.workers.filter((w) => w.child.exitCode === null));
  const kills: WorkerChaos['kills'] = [];
  const startFailures: string[] = [];
  const starting = new Set<Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const replace = () => {
    const started = stack.addWorker().then(
      (w) => void ready.add(w),
      (err: Error) => void startFailures.push(err.message.slice(0, 500)),
    );
    starting.add(started);
    void started.finally(() => starting.delete(started));
  };

  const killOne = () => {
    const candidates = [...ready].filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    if (candidates.length <= opts.keepReady) {
      if (!stopped) timer = setTimeout(killOne, 250);
      return;
    }
    const victim = candidates[Math.floor(opts.random() * candidates.length)];
    ready.delete(victim);
    kills.push({ pid: victim.child.pid, at: Date.now() });
    victim.child.kill('SIGKILL');
    replace();
    if (!stopped) timer = setTimeout(killOne, opts.minGapMs + opts.random() * (opts.maxGapMs - opts.minGapMs));
  };
  timer = setTimeout(killOne, opts.minGapMs);

  return {
    kills,
    startFailures,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      while (starting.size) await Promise.all(starting);
    },
  };
}
