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
  return new GroupBatcher(opts);
}

class GroupBatcher<T extends Queued> implements Batcher<T> {
  private readonly now: () => number;
  // Insertion order: the group whose queue started first runs first.
  private readonly queues = new Map<string, T[]>();
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: BatcherOptions<T>) {
    this.now = opts.now ?? (() => performance.now());
  }

  add(key: string, item: T): void {
    if (!this.queues.has(key)) this.queues.set(key, []);
    this.queues.get(key)!.push(item);
    this.schedule();
  }

  remove(key: string, item: T): boolean {
    const queue = this.queues.get(key);
    const at = queue?.indexOf(item) ?? -1;
    if (!queue || at < 0) return false;
    queue.splice(at, 1);
    if (!queue.length) this.queues.delete(key);
    return true;
  }

  close(): T[] {
    this.closed = true;
    clearTimeout(this.timer);
    const waiting = [...this.queues.values()].flat();
    this.queues.clear();
    return waiting;
  }

  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private dispatch(): void {
    if (this.running || this.closed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const entry = this.queues.entries().next();
    if (entry.done) return;
    const [key, queue] = entry.value;
    const batch = takeBatch(queue, this.opts.maxBatchSize);
    if (!queue.length) this.queues.delete(key);
    this.running = this.opts.runBatch(batch).finally(() => {
      this.running = undefined;
      this.schedule();
    });
  }

  /**
   * Runs now when a batch is full or the oldest waiting request has waited `maxDelayMs` (requests
   * that queued while a batch ran have usually waited long enough already); otherwise waits for
   * the rest of that delay.
   */
  private schedule(): void {
    if (this.running || this.closed || this.queues.size === 0) return;
    let full = false;
    let oldest = Infinity;
    for (const queue of this.queues.values()) {
      full ||= queue.reduce((s, r) => s + r.size, 0) >= this.opts.maxBatchSize;
      oldest = Math.min(oldest, queue[0].queuedAt);
    }
    const wait = this.opts.maxDelayMs - (this.now() - oldest);
    if (full || wait <= 0) this.dispatch();
    else this.timer ??= setTimeout(() => this.dispatch(), wait);
  }
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
