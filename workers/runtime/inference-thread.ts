import * as ort from 'onnxruntime-node';
import fs from 'node:fs';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { FromInferenceThread, InferenceThreadInit, TensorInfo, ToInferenceThread } from './inference-messages';
import { withPixelInput } from './pixel-input-graph';
import { buffersOf, ownBuffer, type Feeds, type TensorArray, type TensorData } from './tensor-data';

/**
 * One thread per loaded model, and the only module that imports onnxruntime-node. session.run()
 * blocks its thread for the whole inference, so it runs here and the worker's main thread stays
 * free to renew BullMQ locks, report progress and handle cancels.
 */
const init = workerData as InferenceThreadInit;
const port = parentPort!;
const send = (msg: FromInferenceThread, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);

const firstLine = (err: unknown) => (err as Error).message.split('\n')[0];

/** The graph with its image input taking 8-bit pixels (`init.pixelInput`), or undefined and why not. */
function pixelInputGraph(warnings: string[]): Uint8Array | undefined {
  if (!init.pixelInput) return undefined;
  try {
    return withPixelInput(fs.readFileSync(init.modelPath), init.pixelInput);
  } catch (err) {
    warnings.push(`the graph cannot take 8-bit pixels (${firstLine(err)}): images are normalised in JS`);
    return undefined;
  }
}

/**
 * Tries each execution provider on its own, in order, so we know which one really runs the model;
 * with each, the graph rewritten to take pixels first, then the model file as it is. Only when the
 * file loads where the rewritten graph did not is the rewrite to blame (an unavailable provider
 * fails both), and only then is it given up.
 */
async function createSession(): Promise<{ session: ort.InferenceSession; provider: string; warnings: string[] }> {
  const warnings: string[] = [];
  const rewritten = pixelInputGraph(warnings);
  for (const provider of init.providers) {
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [provider],
      graphOptimizationLevel: 'all',
    };
    if (init.intraOpThreads > 0) options.intraOpNumThreads = init.intraOpThreads;
    let rewriteFailed: string | undefined;
    if (rewritten) {
      try {
        return { session: await ort.InferenceSession.create(rewritten, options), provider, warnings };
      } catch (err) {
        rewriteFailed = firstLine(err);
      }
    }
    try {
      const session = await ort.InferenceSession.create(init.modelPath, options);
      if (rewriteFailed)
        warnings.push(`the graph that takes 8-bit pixels did not load (${rewriteFailed}): images are normalised in JS`);
      return { session, provider, warnings };
    } catch (err) {
      warnings.push(`execution provider ${provider} unavailable: ${firstLine(err)}`);
    }
  }
  throw new Error(warnings.join('; ') || 'no execution provider configured');
}

/**
 * CPU time this thread has used, in ms, from the kernel's scheduler statistics (nanoseconds, unlike
 * the 10 ms ticks of /proc/.../stat); undefined off Linux. With one intra-op thread, onnxruntime runs
 * the graph on the calling thread, so the difference around session.run is the inference's CPU.
 */
function threadCpuMs(): number | undefined {
  try {
    return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined; // not Linux: the figure is simply not reported
  }
}

const toOrt = (t: TensorData) => new ort.Tensor(t.type, t.data as never, t.dims);
/** An output in a buffer of its own, so transferring it moves only its bytes. */
const fromOrt = (t: ort.Tensor): TensorData => ({
  type: t.type as TensorData['type'],
  dims: [...t.dims],
  data: ownBuffer(t.data as TensorArray),
});

/**
 * Lowers this thread's CPU priority before the session exists, so onnxruntime's own threads inherit
 * it: where the worker shares cores with an API or its own main thread, inference takes the CPU they
 * leave, and HTTP answers and BullMQ lock renewals never queue behind a batch. Linux sets nice per
 * thread (setpriority on a thread id); elsewhere this is a warning.
 */
function lowerPriority(nice: number | undefined): string[] {
  if (!nice) return [];
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    os.setPriority(tid, nice);
    return [];
  } catch (err) {
    return [`could not set the inference thread's nice value to ${nice}: ${(err as Error).message}`];
  }
}

async function main() {
  const priorityWarnings = lowerPriority(init.nice);
  let loaded: Awaited<ReturnType<typeof createSession>>;
  try {
    loaded = await createSession();
  } catch (err) {
    send({ kind: 'load_failed', message: (err as Error).message });
    return;
  }
  const { session } = loaded;
  const describe = (meta: readonly ort.InferenceSession.ValueMetadata[]): TensorInfo[] =>
    meta.map((m) =>
      m.isTensor ? { name: m.name, type: m.type, dims: [...m.shape] } : { name: m.name, type: 'non-tensor', dims: [] },
    );
  send({
    kind: 'ready',
    provider: loaded.provider,
    warnings: [...priorityWarnings, ...loaded.warnings],
    inputs: describe(session.inputMetadata),
    outputs: describe(session.outputMetadata),
  });
  port.on('message', (msg: ToInferenceThread) => {
    switch (msg.kind) {
      case 'run':
        return void run(session, msg);
      default: {
        const unknown: never = msg.kind;
        throw new Error(`unknown message ${String(unknown)} to the inference thread`);
      }
    }
  });
}

/** One session.run; its failure is an answer to the client, not the thread's end. */
async function run(session: ort.InferenceSession, msg: Extract<ToInferenceThread, { kind: 'run' }>) {
  const started = performance.now();
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = toOrt(t);
    const cpuBefore = threadCpuMs();
    const result = await session.run(feeds, msg.outputs);
    const cpuAfter = threadCpuMs();
    const outputs: Feeds = {};
    for (const name of msg.outputs) outputs[name] = fromOrt(result[name]);
    const cpuMs = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
    const ms = performance.now() - started;
    send({ kind: 'result', id: msg.id, outputs, ms, cpuMs }, buffersOf(outputs));
  } catch (err) {
    send({ kind: 'run_failed', id: msg.id, message: (err as Error).message });
  }
}

void main();
