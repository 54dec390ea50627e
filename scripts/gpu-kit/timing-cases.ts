import path from 'node:path';
import type { TensorData } from '../../workers/runtime/tensor-data';
import { kitPaths } from './kit-layout';

/**
 * The graphs whose raw session.run is timed on each provider, the batch sizes, and the inputs:
 * deterministic pseudo-random data of the shapes darkroom feeds them (demo-diffusion at 512x512,
 * so a 64x64 latent), the same bytes on every provider so outputs can be compared too.
 */
export interface TimingCase {
  /** Runner name as darkroom's worker reports it (`demo-diffusion/unet` for a pipeline's part). */
  name: string;
  file: string;
  batches: number[];
  feeds(batch: number): Record<string, TensorData>;
  /** The output compared across providers. */
  output: string;
}

/** mulberry32: the same numbers everywhere, no dependency. */
function uniform(seed: number, n: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo));
  }
  return out;
}

const f32 = (dims: number[], seed: number, lo = -1, hi = 1): TensorData => ({ type: 'float32', dims, data: uniform(seed, dims.reduce((a, b) => a * b, 1), lo, hi) });

export function timingCases(kit: string): TimingCase[] {
  const p = kitPaths(kit);
  const diffusion = (part: string) => path.join(p.demoModels, 'demo-diffusion', part, 'model.onnx');
  return [
    { name: 'mobilenetv2-12-int8', file: path.join(p.models, 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.onnx'), batches: [1, 8, 16], output: 'output', feeds: (b) => ({ input: f32([b, 3, 224, 224], 1, -2, 2) }) },
    { name: 'omori-sprite-gan', file: path.join(p.models, 'omori-sprite-gan', 'omori-sprite-gan-dynbatch.onnx'), batches: [1, 16, 64], output: 'image_output', feeds: (b) => ({ random_input: f32([b, 16, 1, 1], 2, -2, 2) }) },
    { name: 'superres-y-x3', file: path.join(p.models, 'superres-y-x3', 'superres-y-x3.onnx'), batches: [1, 4], output: 'output', feeds: (b) => ({ input: f32([b, 1, 224, 224], 3, 0, 1) }) },
    {
      name: 'demo-diffusion/unet',
      file: diffusion('unet'),
      batches: [1, 2, 8],
      output: 'out_sample',
      feeds: (b) => ({
        sample: f32([b, 4, 64, 64], 4),
        timestep: { type: 'int64', dims: [b], data: BigInt64Array.from({ length: b }, (_, i) => BigInt(999 - 50 * i)) },
        encoder_hidden_states: f32([b, 77, 32], 5),
      }),
    },
    { name: 'demo-diffusion/vae_decoder', file: diffusion('vae_decoder'), batches: [1, 2], output: 'sample', feeds: (b) => ({ latent_sample: f32([b, 4, 64, 64], 6, -4, 4) }) },
  ];
}

/** What the runner asks the raw-timing child to do. */
export interface TimingPlan {
  provider: string;
  kit: string;
  /** Where batch outputs are written (raw float32), for the runner to compare across providers. */
  outDir: string;
  /** Time spent in the timed loop per graph and batch size (after warm-up). */
  seconds: number;
  threads: number;
}

export interface BatchTiming {
  batch: number;
  /** The first run: a GPU provider compiles its kernels/shaders here. */
  first_ms: number;
  runs: number;
  median_ms: number;
  p90_ms: number;
  mean_ms: number;
  output_file?: string;
  output_dims?: number[];
  error?: string;
}

export interface CaseTiming {
  name: string;
  provider: string;
  load_ms?: number;
  load_error?: string;
  batches: BatchTiming[];
}

export const CASE_MARKER = '@@kit-case ';
