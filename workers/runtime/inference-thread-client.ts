import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { Logger } from '../../src/logger';
import type { FromInferenceThread, InferenceThreadInit, TensorInfo, ToInferenceThread } from './inference-messages';
import type { PixelInputSpec } from './pixel-input-graph';
import { InferenceCrashedError, InferenceError, modelClosedError } from './runtime-errors';
import { compactFeeds, type Feeds } from './tensor-data';

/** A session.run's outputs, and the CPU time the inference thread spent in it when known. */
export interface InferenceResult {
  outputs: Feeds;
  cpuMs?: number;
}

export interface ThreadClientOptions {
  /** The model's name, for logs and errors. */
  name: string;
  modelPath: string;
  providers: string[];
  intraOpThreads: number;
  /** Nice value of the inference thread; 0 or absent leaves it as it is. */
  nice?: number;
  /** An image input the graph should take as 8-bit pixels (pixel-input-graph.ts). */
  pixelInput?: PixelInputSpec;
  logger: Logger;
  /** Starts the inference thread (`new Worker(file, options)` unless given, e.g. by a test that makes it exit). */
  createThread?: (file: string, options: WorkerOptions) => Worker;
}

/** The main thread's side of one inference thread, which it starts again when it dies. */
export interface InferenceThreadClient {
  /** What the session reported when the thread (last) loaded the model. */
  readonly session: SessionInfo;
  /** Set once a dead thread could not be started again: every later run would fail. */
  readonly broken: InferenceError | undefined;
  /**
   * One session.run. The feeds are copied as the message is posted, before run returns: the caller
   * may reuse their buffers at once.
   */
  run(feeds: Feeds, outputs: string[]): Promise<InferenceResult>;
  /** Ends the thread; runs it has not answered fail as closed. */
  close(): Promise<void>;
}

/** The execution provider that runs the model, and the graph's inputs and outputs. */
export interface SessionInfo {
  provider: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

interface Pending {
  resolve(result: InferenceResult): void;
  reject(err: Error): void;
}

const THREAD_FILE = path.join(__dirname, 'inference-thread.js');

/** Starts the inference thread and resolves once it has loaded the model. */
export async function startInferenceThread(opts: ThreadClientOptions): Promise<InferenceThreadClient> {
  const client = new SupervisedThread(opts);
  await client.start();
  return client;
}

/** One inference thread, started again when it dies, and the runs it has not answered yet. */
class SupervisedThread implements InferenceThreadClient {
  private readonly inFlight = new Map<number, Pending>();
  private nextId = 1;
  private thread!: Worker;
  private loaded!: SessionInfo;
  private closed = false;
  private brokenBy: InferenceError | undefined;
  private readonly events: ThreadEvents = {
    answer: (id, settle) => {
      const pending = this.inFlight.get(id);
      this.inFlight.delete(id);
      if (pending) settle(pending);
    },
    exited: (code, wasReady) => {
      if (this.closed) return this.failInFlight(() => modelClosedError(this.opts.name));
      // A thread that died (JS heap exhausted, terminated) fails only the batch it was running.
      this.failInFlight(() => new InferenceCrashedError(`inference thread crashed (exit code ${code})`));
      if (wasReady) this.restart(code);
    },
  };

  constructor(private readonly opts: ThreadClientOptions) {}

  get session(): SessionInfo {
    return this.loaded;
  }

  get broken(): InferenceError | undefined {
    return this.brokenBy;
  }

  async start(): Promise<void> {
    const spawned = spawnThread(this.opts, this.events);
    this.thread = spawned.thread;
    this.loaded = await spawned.loaded;
  }

  run(feeds: Feeds, outputs: string[]): Promise<InferenceResult> {
    if (this.closed) return Promise.reject(modelClosedError(this.opts.name));
    return new Promise<InferenceResult>((resolve, reject) => {
      const id = this.nextId++;
      this.inFlight.set(id, { resolve, reject });
      const msg: ToInferenceThread = { kind: 'run', id, feeds: compactFeeds(feeds), outputs };
      this.thread.postMessage(msg);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.thread.terminate();
  }

  /** Fails every run the thread was given and has not answered (it never will now). */
  private failInFlight(err: () => Error): void {
    for (const pending of this.inFlight.values()) pending.reject(err());
    this.inFlight.clear();
  }

  private restart(code: number): void {
    const { logger, name } = this.opts;
    logger.error({ model: name, code }, 'inference thread died; restarting it');
    this.start().catch((err: Error) => {
      if (this.closed) return; // close() ended the new thread while it loaded
      this.brokenBy = new InferenceCrashedError(`inference thread crashed and could not be restarted: ${err.message}`);
      this.failInFlight(() => new InferenceCrashedError(this.brokenBy!.message));
      logger.fatal(
        { model: name, err },
        'could not restart the inference thread; this model fails every job from now on',
      );
    });
  }
}

/** What one thread tells its client besides loading. */
interface ThreadEvents {
  /** The thread answered run `id`. */
  answer(id: number, settle: (pending: Pending) => void): void;
  /** The thread ended; `wasReady` is false when it ended while loading the model. */
  exited(code: number, wasReady: boolean): void;
}

/** Starts one inference thread; `loaded` settles when it has loaded the model or failed to. */
function spawnThread(
  opts: ThreadClientOptions,
  events: ThreadEvents,
): { thread: Worker; loaded: Promise<SessionInfo> } {
  const { logger, name } = opts;
  const init: InferenceThreadInit = {
    modelPath: opts.modelPath,
    providers: opts.providers,
    intraOpThreads: opts.intraOpThreads,
    nice: opts.nice,
    pixelInput: opts.pixelInput,
  };
  const thread = (opts.createThread ?? ((file, options) => new Worker(file, options)))(THREAD_FILE, {
    workerData: init,
  });
  let ready = false;
  const loaded = new Promise<SessionInfo>((resolve, reject) => {
    thread.on('message', (msg: FromInferenceThread) => {
      switch (msg.kind) {
        case 'ready':
          ready = true;
          for (const w of msg.warnings) logger.warn({ model: name }, `${w}; falling back`);
          return resolve({ provider: msg.provider, inputs: msg.inputs, outputs: msg.outputs });
        case 'load_failed':
          return reject(new Error(`model ${name}: ${msg.message}`));
        case 'result':
          return events.answer(msg.id, (p) => p.resolve({ outputs: msg.outputs, cpuMs: msg.cpuMs }));
        case 'run_failed':
          return events.answer(msg.id, (p) => p.reject(new InferenceError(msg.message)));
        default: {
          const unknown: never = msg;
          logger.error({ model: name, received: unknown }, 'unknown message from the inference thread');
        }
      }
    });
    thread.on('error', (err) => logger.error({ model: name, err }, 'inference thread error'));
    thread.on('exit', (code) => {
      events.exited(code, ready);
      if (!ready) reject(new Error(`model ${name}: inference thread exited with code ${code} while loading`));
    });
  });
  return { thread, loaded };
}
