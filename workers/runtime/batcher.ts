/**
 * Gathers requests from concurrent jobs into batches. Knows nothing of threads or tensors: a batch
 * is a list of requests that share a key (same shapes), and running it is the caller's business.
 */

/** A request waiting for a batch: how many items it carries and when it was queued. */
export interface Queued {
  readonly size: number;
  /** In the batcher's clock (`now`). */
  readonly queuedAt: number;
}

export interface BatcherOptions<T extends Queued> {
  /** Items per batch; a request larger than this still runs, alone. */
  maxBatchSize: number;
  /** No request waits longer than this for company, counted from the oldest one waiting. */
  maxDelayMs: number;
  /** Runs one batch; the next starts once it settles. It must not reject. */
  runBatch(batch: T[]): Promise<void>;
  now?: () => number;
}

export interface Batcher<T> {
  add(key: string, item: T): void;
  /** Takes back a request that is still waiting; false once it is in a batch. */
  remove(key: string, item: T): boolean;
  /** Stops starting batches and hands back every request still waiting. */
  close(): T[];
  /** Settles when the batch being run (if any) has settled. */
  idle(): Promise<void>;
}

/** One batch at a time, taken from the oldest group of requests, up to `maxBatchSize` items. */
export function createBatcher<T extends Queued>(opts: BatcherOptions<T>): Batcher<T> {
  const now = opts.now ?? (() => performance.now());
  // Insertion order: the group whose queue started first runs first.
  const queues = new Map<string, T[]>();
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const dispatch = () => {
    if (running || closed) return;
    clearTimeout(timer);
    timer = undefined;
    const entry = queues.entries().next();
    if (entry.done) return;
    const [key, queue] = entry.value;
    const batch = takeBatch(queue, opts.maxBatchSize);
    if (!queue.length) queues.delete(key);
    running = opts.runBatch(batch).finally(() => {
      running = undefined;
      schedule();
    });
  };

  /**
   * Runs now when a batch is full or the oldest waiting request has waited `maxDelayMs` (requests
   * that queued while a batch ran have usually waited long enough already); otherwise waits for
   * the rest of that delay.
   */
  const schedule = () => {
    if (running || closed || queues.size === 0) return;
    let full = false;
    let oldest = Infinity;
    for (const queue of queues.values()) {
      full ||= queue.reduce((s, r) => s + r.size, 0) >= opts.maxBatchSize;
      oldest = Math.min(oldest, queue[0].queuedAt);
    }
    const wait = opts.maxDelayMs - (now() - oldest);
    if (full || wait <= 0) dispatch();
    else timer ??= setTimeout(dispatch, wait);
  };

  return {
    add(key, item) {
      if (!queues.has(key)) queues.set(key, []);
      queues.get(key)!.push(item);
      schedule();
    },
    remove(key, item) {
      const queue = queues.get(key);
      const at = queue?.indexOf(item) ?? -1;
      if (!queue || at < 0) return false;
      queue.splice(at, 1);
      if (!queue.length) queues.delete(key);
      return true;
    },
    close() {
      closed = true;
      clearTimeout(timer);
      const waiting = [...queues.values()].flat();
      queues.clear();
      return waiting;
    },
    idle: () => running ?? Promise.resolve(),
  };
}

/** Takes requests from the head of `queue` while they fit in one batch (always at least one). */
export function takeBatch<T extends Queued>(queue: T[], maxBatchSize: number): T[] {
  const batch: T[] = [];
  let size = 0;
  while (queue.length && (batch.length === 0 || size + queue[0].size <= maxBatchSize)) {
    const r = queue.shift()!;
    batch.push(r);
    size += r.size;
  }
  return batch;
}

/** How one request of a batch ended: errors are values here, so each request gets its own. */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: Error };

export interface HalvingPolicy<T, R> {
  /** Runs a batch; one result per request, in order. */
  run(batch: T[]): Promise<R[]>;
  /** Hears each request's outcome as soon as it is known, in batch order. */
  settle(item: T, outcome: Outcome<R>): void;
  /** Told before a failed batch is split. */
  onSplit?(size: number, error: Error): void;
}

/** Runs a batch; a failed batch is retried in halves, so one bad request fails alone. */
export async function retryInHalves<T, R>(batch: T[], policy: HalvingPolicy<T, R>): Promise<void> {
  let results: R[];
  try {
    results = await policy.run(batch);
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    if (batch.length <= 1) {
      for (const item of batch) policy.settle(item, { ok: false, error });
      return;
    }
    policy.onSplit?.(batch.length, error);
    const half = Math.ceil(batch.length / 2);
    await retryInHalves(batch.slice(0, half), policy);
    await retryInHalves(batch.slice(half), policy);
    return;
  }
  batch.forEach((item, i) => policy.settle(item, { ok: true, value: results[i] }));
}
