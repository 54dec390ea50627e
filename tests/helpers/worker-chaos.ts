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
  /**
   * Pids of the workers that hold a running job now. Given, each kill waits (up to maxGapMs) for a
   * ready worker that holds one and kills it, so kills land mid-job however quickly jobs finish;
   * past the wait it kills a random ready worker, as without it.
   */
  busy?: () => Promise<Set<number>>;
}

export interface WorkerChaos {
  kills: { pid: number | undefined; at: number }[];
  /** Replacement workers that failed to start. */
  startFailures: string[];
  /** Stops killing and waits until every replacement started has come up (or failed). */
  stop(): Promise<void>;
}

/**
 * Kills (SIGKILL) a random ready worker of `stack` (one holding a running job, with `busy`) at
 * random moments and starts a replacement each time, as a supervisor would. Only workers that
 * finished starting are killed, so every kill hits a process that takes jobs, and never the last
 * `keepReady` of them.
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

  const alive = () => [...ready].filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  /** The ready workers to choose from: those with a running job when `busy` finds one in time. */
  const victims = async (): Promise<ServerProcess[]> => {
    const deadline = Date.now() + opts.maxGapMs;
    while (opts.busy && !stopped && Date.now() < deadline) {
      const busy = await opts.busy().catch(() => new Set<number>());
      const holding = alive().filter((w) => busy.has(w.child.pid!));
      if (holding.length) return holding;
      await new Promise((r) => setTimeout(r, 50));
    }
    return alive();
  };

  const killOne = async () => {
    if (alive().length <= opts.keepReady) {
      if (!stopped) timer = setTimeout(() => void killOne(), 250);
      return;
    }
    const candidates = await victims();
    // keepReady is checked again: the wait may have seen a worker die.
    if (stopped || alive().length <= opts.keepReady) {
      if (!stopped) timer = setTimeout(() => void killOne(), 250);
      return;
    }
    const victim = candidates[Math.floor(opts.random() * candidates.length)];
    ready.delete(victim);
    kills.push({ pid: victim.child.pid, at: Date.now() });
    victim.child.kill('SIGKILL');
    replace();
    if (!stopped)
      timer = setTimeout(() => void killOne(), opts.minGapMs + opts.random() * (opts.maxGapMs - opts.minGapMs));
  };
  timer = setTimeout(() => void killOne(), opts.minGapMs);

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
