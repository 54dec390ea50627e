import * as ort from 'onnxruntime-node';
import { loadConfig } from '../../src/config';
import { loadModelCatalog } from '../../src/models/model-catalog';
import type { TensorData } from '../../workers/runtime/tensor-data';
import { MODELS_PATH } from './bench-paths';

/**
 * A model run "inline": in this process, on its main thread, with onnxruntime-node directly and
 * darkroom's own pre/post-processing functions. The ceiling loop and the naive server use it.
 */

/** One image to make: a photo to classify, or a seed (and prompt) to generate from. */
export interface WorkItem {
  image?: Buffer;
  seed: number;
  prompt: string;
}

/** A batch whose inputs are ready (decoded or sampled). */
export interface PreparedBatch {
  /** Runs the graph(s); blocks this thread for the whole inference. */
  infer(): Promise<InferredBatch>;
}

export interface InferredBatch {
  /** Post-processing and encoding; returns one result per item. */
  finish(): Promise<unknown[]>;
}

export interface InlineModel {
  name: string;
  kind: string;
  /** What the model makes per item, for the report. */
  describe: string;
  prepare(items: WorkItem[]): Promise<PreparedBatch>;
  close(): Promise<void>;
}

/** darkroom's defaults (MAX_IMAGE_PIXELS and the like), without reading this process's environment. */
export const DEFAULT_CONFIG = loadConfig({});

/**
 * A session as darkroom's inference thread makes one (from the model file, or from the graph's
 * bytes as it rewrote them): CPU, full graph optimisation, and `threads` intra-op threads (0: onnxruntime's own default, as a naive server would leave it).
 */
export function openSession(file: string | Uint8Array, threads = 0): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file as never, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
  });
}

export const toOrt = (t: TensorData) => new ort.Tensor(t.type, t.data as never, t.dims);

/** The catalog entry of `name` in MODELS_PATH (darkroom's manifest loader). */
export function catalogEntry(name: string) {
  const entry = loadModelCatalog(MODELS_PATH).get(name);
  if (!entry) throw new Error(`model ${name} is not in ${MODELS_PATH.join(', ')}`);
  return entry;
}

export const ORT_VERSION = ort.env.versions.node ?? ort.env.versions.common;
