import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { Logger } from '../../src/logger';
import type { FromInferenceThread, InferenceThreadInit, TensorInfo } from './inference-messages';
import { batchKey, concatBatch, splitBatch, type Feeds } from './tensor-data';

export interface RunnerOptions {
  name: string;
  modelPath: string;
  providers: string[];
  intraOpThreads: number;
  /** Outputs to fetch from the graph; all of them when absent. */
  outputs?: string[];
  maxBatchSize: number;
  maxQueueDelayMs: number;
  logger: Logger;
  /** Told of every successful inference run: items in the batch and how long it took (for metrics). */
  onBatch?: (items: number, ms: number) => void;
  /** Starts the inference thread (`new Worker(file, options)` unless given, e.g. by a test that makes it exit). */
  createThread?: (file: string, options: WorkerOptions) => Worker;
}

/** Starts a runner with the worker's provider and thread settings. */
export type RunnerFactory = (opts: Pick<RunnerOptions, 'name' | 'modelPath' | 'outputs' | 'maxBatchSize' | 'maxQueueDelayMs'>) => Promise<ModelRunner>;

/** Runs one model: requests from concurrent jobs are gathered into batches for one session.run. */
export interface ModelRunner {
  readonly name: string;
  readonly provider: string;
  readonly inputNames: string[];
  /** Inputs and outputs as the graph declares them (names, element types, dimensions). */
  readonly inputs: TensorInfo[];
  readonly outputs: TensorInfo[];
  /** Runs `feeds` (each with a leading batch dimension, usually 1); results come back in order. */
  run(feeds: Feeds, signal?: AbortSignal): Promise<Feeds>;
  stats(): { runs: number; items: number; maxBatch: number };
  close(): Promise<void>;
}

interface Request {
  feeds: Feeds;
  size: number;
  /** performance.now() when it was queued: no request waits more than max_queue_delay_ms for company. */
  queuedAt: number;
  resolve(out: Feeds): void;
  reject(err: Error): void;
  signal?: AbortSignal;
}

export class InferenceError extends Error {
  constructor(message: string, readonly crashed = false) {
    super(message);
    this.name = 'InferenceError';
  }
}

export class AbortedError extends Error {
  constructor() {
    super('aborted');
    this.name = 'AbortedError';
  }
}

const THREAD_FILE = path.join(__dirname, 'inference-thread.js');

/** Starts the inference thread and resolves once the model is loaded. */
export async function startModelRunner(opts: RunnerOptions): Promise<ModelRunner> {
  const { logger } = opts;
  let thread!: Worker;
  let provider = '';
  let inputs: TensorInfo[] = [];
  let outputs: TensorInfo[] = [];
  let nextId = 1;
  const inFlight = new Map<number, (msg: FromInferenceThread) => void>();
  const pending = new Map<string, Request[]>();
  let busy = false;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /** Set when a crashed thread could not be started again: every later run fails at once. */
  let broken: Error | undefined;
  const stats = { runs: 0, items: 0, maxBatch: 0 };
  const createThread = opts.createThread ?? ((file, options) => new Worker(file, options));

  /** Fails every run the thread was given and has not answered (it never will now). */
  const failInFlight = (message: string) => {
    for (const [id, handler] of inFlight) handler({ kind: 'run_failed', id, message });
    inFlight.clear();
  };

  const spawnThread = () =>
    new Promise<void>((resolve, reject) => {
      const init: InferenceThreadInit = { modelPath: opts.modelPath, providers: opts.providers, intraOpThreads: opts.intraOpThreads };
      thread = createThread(THREAD_FILE, { workerData: init });
      let ready = false;
      thread.on('message', (msg: FromInferenceThread) => {
        if (msg.kind === 'ready') {
          ready = true;
          provider = msg.provider;
          inputs = msg.inputs;
          outputs = msg.outputs;
          for (const w of msg.warnings) logger.warn({ model: opts.name }, `${w}; falling back`);
          resolve();
        } else if (msg.kind === 'load_failed') {
          reject(new Error(`model ${opts.name}: ${msg.message}`));
        } else {
          inFlight.get(msg.id)?.(msg);
        }
      });
      thread.on('error', (err) => logger.error({ model: opts.name, err }, 'inference thread error'));
      thread.on('exit', (code) => {
        if (closed) return failInFlight(`model ${opts.name} is closed`);
        // A thread that died (JS heap exhausted, terminated) fails only the batch it was running.
        failInFlight(`inference thread crashed (exit code ${code})`);
        if (!ready) return reject(new Error(`model ${opts.name}: inference thread exited with code ${code} while loading`));
        logger.error({ model: opts.name, code }, 'inference thread died; restarting it');
        spawnThread().catch((err: Error) => {
          broken = err;
          failInFlight(`inference thread crashed and could not be restarted: ${err.message}`);
          logger.fatal({ model: opts.name, err }, 'could not restart the inference thread; this model fails every job from now on');
        });
      });
    });

  const runOnThread = (feeds: Feeds, transfer: ArrayBuffer[]) =>
    new Promise<Feeds>((resolve, reject) => {
      const id = nextId++;
      inFlight.set(id, (msg) => {
        inFlight.delete(id);
        if (msg.kind === 'result') resolve(msg.outputs);
        else if (msg.kind === 'run_failed') reject(new InferenceError(msg.message, msg.message.startsWith('inference thread crashed')));
      });
      thread.postMessage({ kind: 'run', id, feeds, outputs: opts.outputs ?? outputs.map((o) => o.name) }, transfer);
    });

  /** Runs a group; a failed batch is retried in halves so one bad request fails alone. */
  const runGroup = async (group: Request[]): Promise<void> => {
    const feeds: Feeds = {};
    for (const name of Object.keys(group[0].feeds)) feeds[name] = concatBatch(group.map((r) => r.feeds[name]));
    try {
      const started = performance.now();
      // Tensors joined from several requests are ours alone: moved to the thread, not copied. A lone
      // request's tensors are its caller's (a diffusion job reuses its latents), so they are copied.
      const joined = group.length > 1 ? [...new Set(Object.values(feeds).map((t) => t.data.buffer as ArrayBuffer))] : [];
      const results = await runOnThread(feeds, joined);
      stats.runs += 1;
      const items = group.reduce((s, r) => s + r.size, 0);
      opts.onBatch?.(items, performance.now() - started);
      stats.items += items;
      stats.maxBatch = Math.max(stats.maxBatch, items);
      const sizes = group.map((r) => r.size);
      const split = Object.fromEntries(Object.entries(results).map(([name, t]) => [name, splitBatch(t, sizes)]));
      group.forEach((r, i) => r.resolve(Object.fromEntries(Object.keys(split).map((name) => [name, split[name][i]]))));
    } catch (err) {
      if (group.length > 1) {
        logger.warn({ model: opts.name, batch: group.length, err: (err as Error).message }, 'batch failed; retrying in smaller batches');
        const half = Math.ceil(group.length / 2);
        await runGroup(group.slice(0, half));
        await runGroup(group.slice(half));
      } else {
        group[0].reject(err as Error);
      }
    }
  };

  /** Takes the oldest waiting group, up to max_batch_size items, and runs it. */
  const dispatch = () => {
    if (busy || closed) return;
    clearTimeout(timer);
    timer = undefined;
    const entry = pending.entries().next();
    if (entry.done) return;
    const [key, queue] = entry.value;
    const group: Request[] = [];
    let size = 0;
    while (queue.length && (group.length === 0 || size + queue[0].size <= maxBatchSize)) {
      const r = queue.shift()!;
      group.push(r);
      size += r.size;
    }
    if (!queue.length) pending.delete(key);
    busy = true;
    void runGroup(group).finally(() => {
      busy = false;
      if (pending.size) schedule();
    });
  };

  /**
   * Runs now when a batch is full or the oldest waiting request has waited max_queue_delay_ms
   * (requests that queued while the model was busy have usually waited long enough already);
   * otherwise waits for the rest of that delay.
   */
  const schedule = () => {
    if (busy) return;
    let full = false;
    let oldest = Infinity;
    for (const queue of pending.values()) {
      full ||= queue.reduce((s, r) => s + r.size, 0) >= maxBatchSize;
      oldest = Math.min(oldest, queue[0].queuedAt);
    }
    const wait = opts.maxQueueDelayMs - (performance.now() - oldest);
    if (full || wait <= 0) dispatch();
    else timer ??= setTimeout(dispatch, wait);
  };

  await spawnThread();
  // A graph whose batch dimension is fixed at 1 runs one request at a time, whatever the manifest says.
  const fixedBatch = inputs.some((i) => i.dims[0] === 1);
  const maxBatchSize = fixedBatch ? 1 : opts.maxBatchSize;
  logger.info({ model: opts.name, provider, maxBatchSize, fixedBatch, intraOpThreads: opts.intraOpThreads }, 'model loaded');

  return {
    name: opts.name,
    get provider() {
      return provider;
    },
    get inputNames() {
      return inputs.map((i) => i.name);
    },
    get inputs() {
      return inputs;
    },
    get outputs() {
      return outputs;
    },
    run(feeds, signal) {
      if (closed) return Promise.reject(new InferenceError(`model ${opts.name} is closed`));
      if (broken) return Promise.reject(new InferenceError(`inference thread crashed and could not be restarted: ${broken.message}`, true));
      if (signal?.aborted) return Promise.reject(new AbortedError());
      const size = Object.values(feeds)[0]?.dims[0] ?? 1;
      return new Promise<Feeds>((resolve, reject) => {
        const key = batchKey(feeds);
        const onAbort = () => {
          const queue = pending.get(key);
          const at = queue?.indexOf(request) ?? -1;
          if (queue && at >= 0) {
            queue.splice(at, 1);
            if (!queue.length) pending.delete(key);
            reject(new AbortedError());
          }
        };
        // The listener goes as soon as the request settles, so long jobs do not pile them up.
        const settle = <T>(fn: (v: T) => void) => (v: T) => {
          signal?.removeEventListener('abort', onAbort);
          fn(v);
        };
        const request: Request = { feeds, size, queuedAt: performance.now(), resolve: settle(resolve), reject: settle(reject), signal };
        // Requests larger than one batch still run, alone.
        if (!pending.has(key)) pending.set(key, []);
        pending.get(key)!.push(request);
        signal?.addEventListener('abort', onAbort, { once: true });
        schedule();
      });
    },
    stats: () => ({ ...stats }),
    async close() {
      closed = true;
      clearTimeout(timer);
      for (const queue of pending.values()) for (const r of queue) r.reject(new InferenceError(`model ${opts.name} is closed`));
      pending.clear();
      // A thread terminated inside session.run takes the whole process down (onnxruntime-node's
      // binding throws into the stopping thread and C++ aborts), so let the run in progress end.
      for (const deadline = Date.now() + 30_000; inFlight.size > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
      await thread.terminate();
    },
  };
}
