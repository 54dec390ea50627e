import type { PixelInputSpec } from './pixel-input-graph';
import type { Feeds, TensorType } from './tensor-data';

/** A graph input or output as the session reports it (symbolic dimensions as names). */
export interface TensorInfo {
  name: string;
  type: TensorType | string;
  dims: (number | string)[];
}

/**
 * Messages between the inference thread client (main thread) and its inference thread: unions on
 * `kind`, each handled by an exhaustive switch on the receiving side.
 */
export interface InferenceThreadInit {
  modelPath: string;
  providers: string[];
  intraOpThreads: number;
  /** Nice value for the thread (and onnxruntime's threads, which inherit it); 0 leaves it as it is. */
  nice?: number;
  /** Rewrite the graph to take 8-bit pixels at this image input (pixel-input-graph.ts), where it can. */
  pixelInput?: PixelInputSpec;
}

/**
 * The feeds are copied with the message, never moved: a buffer moved back and forth arrives as a
 * new ArrayBuffer each time, which V8 counts as fresh external memory (see TensorPool).
 */
export type ToInferenceThread = { kind: 'run'; id: number; feeds: Feeds; outputs: string[] };

export type FromInferenceThread =
  | { kind: 'ready'; provider: string; warnings: string[]; inputs: TensorInfo[]; outputs: TensorInfo[] }
  | { kind: 'load_failed'; message: string }
  /** `cpuMs`: CPU time this thread spent in session.run (Linux; absent elsewhere). The outputs' buffers are moved. */
  | { kind: 'result'; id: number; outputs: Feeds; ms: number; cpuMs?: number }
  | { kind: 'run_failed'; id: number; message: string };
