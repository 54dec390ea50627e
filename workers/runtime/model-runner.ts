import type { Worker, WorkerOptions } from 'node:worker_threads';
import type { Logger } from '../../src/logger';
import { createBatcher, retryInHalves, type Batcher, type Queued } from './batcher';
import type { TensorInfo } from './inference-messages';
import type { PixelInputSpec } from './pixel-input-graph';
import { startInferenceThread, type InferenceThreadClient } from './inference-thread-client';
import { AbortedError, InferenceCrashedError, modelClosedError } from './runtime-errors';
import {
  batchKey,
  buffersOf,
  concatBatch,
  splitBatch,
  type Feeds,
  type TensorAllocator,
  type TensorArray,
  type TensorType,
} from './tensor-data';
import { TensorPool } from './tensor-pool';

export { AbortedError, InferenceCrashedError, InferenceError } from './runtime-errors';

export interface RunnerOptions {
  name: string;
  modelPath: string;
  providers: string[];
  intraOpThreads: number;
  /** Nice value of the inference threads (WORKER_INFERENCE_NICE); 0 or absent leaves it as it is. */
  nice?: number;
  /**
   * An image input to take as 8-bit pixels, normalised inside the graph (pixel-input-graph.ts). Where
   * the graph cannot, the input stays as it was: `inputs` tells which (uint8 or float).
   */
  pixelInput?: PixelInputSpec;
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
export type RunnerFactory = (
  opts: Pick<RunnerOptions, 'name' | 'modelPath' | 'outputs' | 'maxBatchSize' | 'maxQueueDelayMs' | 'pixelInput'>,
) => Promise<ModelRunner>;

/** Runs one model: requests from concurrent jobs are gathered into batches for one session.run. */
export interface ModelRunner {
  readonly name: string;
  readonly provider: string;
  readonly inputNames: string[];
  /** Inputs and outputs as the graph declares them (names, element types, dimensions). */
  readonly inputs: TensorInfo[];
  readonly outputs: TensorInfo[];
  /** Runs `feeds` (each with a leading batch dimension, usually 1); results come back in order. */
  run(feeds: Feeds, signal?: AbortSignal, options?: RunOptions): Promise<Feeds>;
  /** A typed array for a feed, from this runner's pool of reused buffers (contents undefined). */
  allocate(type: TensorType, length: number): TensorArray;
  /** Runs and items so far; `cpuMs`: CPU time of session.run on its thread (docs/benchmarks.md). */
  stats(): { runs: number; items: number; maxBatch: number; cpuMs: number };
  close(): Promise<void>;
}

export interface RunOptions {
  /**
   * The feeds are the runner's from now on: it reuses their buffers (TensorPool) once the run has
   * settled. The caller must not touch them after the call. For feeds made with `allocate` for
   * this one run.
   */
  owned?: boolean;
}

interface Request extends Queued {
  feeds: Feeds;
  resolve(out: Feeds): void;
  reject(err: Error): void;
}

type RunnerStats = ReturnType<ModelRunner['stats']>;

/**
 * How long close() lets the batch in progress end. A thread terminated inside session.run takes the
 * whole process down (onnxruntime-node's binding throws into the stopping thread and C++ aborts).
 */
const CLOSE_WAIT_MS = 30_000;

/** Starts the inference thread and resolves once the model is loaded. */
export async function startModelRunner(opts: RunnerOptions): Promise<ModelRunner> {
  const { logger, name } = opts;
  const client = await startInferenceThread(opts);
  // A graph whose batch dimension is fixed at 1 runs one request at a time, whatever the manifest says.
  const fixedBatch = client.session.inputs.some((i) => i.dims[0] === 1);
  const maxBatchSize = fixedBatch ? 1 : opts.maxBatchSize;
  logger.info(
    { model: name, provider: client.session.provider, maxBatchSize, fixedBatch, intraOpThreads: opts.intraOpThreads },
    'model loaded',
  );

  const stats: RunnerStats = { runs: 0, items: 0, maxBatch: 0, cpuMs: 0 };
  const pool = new TensorPool();
  const run = runOnThread(client, opts, stats, pool, maxBatchSize);
  const batcher = createBatcher<Request>({
    maxBatchSize,
    maxDelayMs: opts.maxQueueDelayMs,
    runBatch: (batch) =>
      retryInHalves(batch, {
        run,
        settle: (r, outcome) => (outcome.ok ? r.resolve(outcome.value) : r.reject(outcome.error)),
        onSplit: (size, err) =>
          logger.warn({ model: name, batch: size, err: err.message }, 'batch failed; retrying in smaller batches'),
      }),
  });
  let closed = false;

  return {
    name,
    get provider() {
      return client.session.provider;
    },
    get inputNames() {
      return client.session.inputs.map((i) => i.name);
    },
    get inputs() {
      return client.session.inputs;
    },
    get outputs() {
      return client.session.outputs;
    },
    run(feeds, signal, options) {
      if (closed) return Promise.reject(modelClosedError(name));
      if (client.broken) return Promise.reject(new InferenceCrashedError(client.broken.message));
      if (signal?.aborted) return Promise.reject(new AbortedError());
      return enqueue(batcher, feeds, signal, options?.owned ? pool : undefined);
    },
    allocate: (type, length) => pool.allocate(type, length),
    stats: () => ({ ...stats }),
    async close() {
      closed = true;
      for (const r of batcher.close()) r.reject(modelClosedError(name));
      if (!(await settlesWithin(batcher.idle(), CLOSE_WAIT_MS))) {
        logger.warn(
          { model: name, waitedMs: CLOSE_WAIT_MS },
          'an inference still runs at close; ending its thread anyway',
        );
      }
      await client.close();
      pool.clear();
    },
  };
}

/** Runs one batch as one session.run and splits the outputs back into one set per request. */
function runOnThread(
  client: InferenceThreadClient,
  opts: RunnerOptions,
  stats: RunnerStats,
  pool: TensorPool,
  maxBatchSize: number,
) {
  return async (batch: Request[]): Promise<Feeds[]> => {
    const items = batch.reduce((s, r) => s + r.size, 0);
    // Every joined batch takes a buffer with room for the largest, so the pool holds one size of them.
    const room = Math.max(items, maxBatchSize);
    const allocate: TensorAllocator = (type, length) =>
      pool.allocate(type, length, items > 0 ? (length / items) * room : length);
    const feeds: Feeds = {};
    for (const name of Object.keys(batch[0].feeds)) {
      const parts = batch.map((r) => r.feeds[name]);
      feeds[name] = concatBatch(parts, allocate);
    }
    const started = performance.now();
    // The thread gets a copy, taken as the message is posted (see ToInferenceThread), so a joined
    // batch's buffers go back to the pool at once.
    const outputNames = opts.outputs ?? client.session.outputs.map((o) => o.name);
    const answer = client.run(feeds, outputNames);
    if (batch.length > 1) for (const buffer of buffersOf(feeds)) pool.give(buffer);
    const { outputs: results, cpuMs } = await answer;
    stats.cpuMs += cpuMs ?? 0;
    stats.runs += 1;
    opts.onBatch?.(items, performance.now() - started);
    stats.items += items;
    stats.maxBatch = Math.max(stats.maxBatch, items);
    const sizes = batch.map((r) => r.size);
    const split = Object.entries(results).map(([name, t]) => [name, splitBatch(t, sizes)] as const);
    return batch.map((_, i) => Object.fromEntries(split.map(([name, parts]) => [name, parts[i]])));
  };
}

/**
 * Queues a request; an abort takes it back while it waits, but not once its batch runs. With a
 * `pool` (an owned request) its feeds' buffers go there once it has settled.
 */
function enqueue(
  batcher: Batcher<Request>,
  feeds: Feeds,
  signal: AbortSignal | undefined,
  pool: TensorPool | undefined,
): Promise<Feeds> {
  // Requests larger than one batch still run, alone.
  const size = Object.values(feeds)[0]?.dims[0] ?? 1;
  const key = batchKey(feeds);
  return new Promise<Feeds>((resolve, reject) => {
    const onAbort = () => {
      if (batcher.remove(key, request)) reject(new AbortedError());
    };
    // The listener goes as soon as the request settles, so long jobs do not pile them up.
    const settle =
      <T>(fn: (v: T) => void) =>
      (v: T) => {
        signal?.removeEventListener('abort', onAbort);
        if (pool) for (const buffer of buffersOf(feeds)) pool.give(buffer);
        fn(v);
      };
    const request: Request = {
      feeds,
      size,
      queuedAt: performance.now(),
      resolve: settle(resolve),
      reject: settle(reject),
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    batcher.add(key, request);
  });
}

/** True when `promise` settles within `ms`; the timer does not outlive it. */
async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
