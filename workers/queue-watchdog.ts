import type { Logger } from '../src/logger';

/** What the watchdog reads about one queue's BullMQ worker (a narrow view, so tests can fake it). */
export interface WatchedWorker {
  queue: string;
  /** BullMQ's fetch loop runs; it stops for good when it throws. */
  isRunning(): boolean;
  /** ioredis status of the dedicated blocking connection (`ready` when healthy). */
  blockingStatus(): Promise<string | undefined>;
  /** Jobs it holds now, and how many it may hold. */
  held(): number;
  concurrency: number;
  /** When it last took a job (ms since the epoch). */
  lastTakenAt(): number;
}

export interface WatchdogOptions {
  /** How long a symptom must last, seen at every check, before the worker is recreated. */
  stuckAfterMs: number;
  intervalMs: number;
  workers(): WatchedWorker[];
  /** Whether the process's ordinary Redis connection is ready (no verdict while Redis is away). */
  redisReady(): boolean;
  /** Jobs waiting to be taken in a queue. */
  waiting(queue: string): Promise<number>;
  recreate(queue: string, reason: string): Promise<void>;
  logger: Logger;
  now?: () => number;
}

export interface QueueWatchdog {
  /** One round of checks (the timer calls it; tests call it with a fake clock). */
  check(): Promise<void>;
  start(): void;
  stop(): void;
}

/**
 * BullMQ workers are known to stop fetching after some Redis restarts and failovers while the
 * process looks healthy (taskforcesh/bullmq#2466, #2964, #4585: the blocking connection never
 * comes back, or the fetch loop dies). Redis being ready again while this worker stays idle
 * with jobs waiting, its fetch loop stopped, or its blocking connection not ready — each for
 * `stuckAfterMs` — means it is stuck; the worker process then replaces that BullMQ worker.
 */
export function createQueueWatchdog(opts: WatchdogOptions): QueueWatchdog {
  const now = opts.now ?? Date.now;
  const suspectSince = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let checking = false;

  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      if (!opts.redisReady()) {
        suspectSince.clear();
        return;
      }
      for (const w of opts.workers()) await checkWorker(opts, w, suspectSince, now);
    } finally {
      checking = false;
    }
  };

  return {
    check,
    start() {
      timer ??= setInterval(() => void check(), opts.intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}

/** What makes the worker look stuck now, if anything (`since`: when it was first seen so, if it was). */
async function symptom(
  opts: WatchdogOptions,
  w: WatchedWorker,
  since: number | undefined,
): Promise<string | undefined> {
  if (!w.isRunning()) return 'its fetch loop stopped';
  const status = await w.blockingStatus();
  if (status !== undefined && status !== 'ready') return `its blocking connection is "${status}"`;
  if (w.held() >= w.concurrency) return undefined;
  // A healthy worker with room takes a waiting job within milliseconds.
  if (since !== undefined && w.lastTakenAt() >= since) return undefined;
  const waiting = await opts.waiting(w.queue);
  return waiting > 0 ? `${waiting} job(s) wait but it takes none` : undefined;
}

/** One worker's check: suspected on the first symptom, recreated once a symptom has lasted `stuckAfterMs`. */
async function checkWorker(
  opts: WatchdogOptions,
  w: WatchedWorker,
  suspectSince: Map<string, number>,
  now: () => number,
): Promise<void> {
  const since = suspectSince.get(w.queue);
  // A command that never answers (a half-open connection) must not stop the watchdog for good.
  const reason = await withTimeout(symptom(opts, w, since), Math.max(2000, opts.intervalMs)).catch(() => undefined);
  if (!reason) {
    suspectSince.delete(w.queue);
    return;
  }
  if (since === undefined) {
    suspectSince.set(w.queue, now());
    return;
  }
  if (now() - since < opts.stuckAfterMs) return;
  suspectSince.delete(w.queue);
  opts.logger.error({ queue: w.queue, reason, stuck_ms: now() - since }, 'queue worker is stuck; recreating it');
  await opts
    .recreate(w.queue, reason)
    .catch((err) => opts.logger.error({ queue: w.queue, err }, 'recreating the queue worker failed'));
}

/** `work`'s value, or undefined when it takes longer than `ms`. */
async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
