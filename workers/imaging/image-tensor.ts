import type { ImagePreprocess } from '../../src/models/model-manifest';
import type { RawImage } from '../../src/imaging/image-codec';
import type { TensorData } from '../runtime/tensor-data';
import { toFloat16 } from './float16';

/**
 * Pixels <-> tensors, as pure functions. Decoding and resizing happen in the imaging module
 * (sharp); here interleaved 8-bit RGB becomes the normalised planar (or interleaved) tensor a
 * model expects, and a model's output becomes 8-bit RGB again.
 */

/** What turning pixels into a tensor needs of a preprocess: the resize happened before. */
export type TensorPreprocess = Omit<ImagePreprocess, 'resize_filter'>;

/**
 * The manifest's normalisation, value = (pixel * scale - mean[c]) / std[c], as float32 arithmetic:
 * value = fl32(fl32(pixel * multiplier[c]) + offset[c]), with multiplier = scale / std and
 * offset = -mean / std rounded to float32. Defined this way so that a graph can compute it with a
 * Cast, a Mul and an Add (pixel-input-graph.ts) and get the same floats as `imageToTensor`.
 */
export function channelAffine(pre: Pick<TensorPreprocess, 'scale' | 'mean' | 'std'>): {
  multiplier: [number, number, number];
  offset: [number, number, number];
} {
  const each = (f: (c: number) => number) => [0, 1, 2].map((c) => Math.fround(f(c))) as [number, number, number];
  return { multiplier: each((c) => pre.scale / pre.std[c]), offset: each((c) => -pre.mean[c] / pre.std[c]) };
}

/**
 * Each model channel's 256 possible values, normalised once: `table[256 * c + v]` is channel c of
 * the tensor for a byte v of its source channel. (A byte times a float32 is exact in float64, as is
 * the sum of two float32s whose exponents differ by less than 29: rounding each to float32 is then
 * the float32 operation's result.)
 */
export function normalisationTable(pre: Pick<TensorPreprocess, 'scale' | 'mean' | 'std'>): Float32Array {
  const { multiplier, offset } = channelAffine(pre);
  const table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++)
    for (let v = 0; v < 256; v++) table[256 * c + v] = Math.fround(v * multiplier[c]) + offset[c];
  return table;
}

/** The source (RGB) channel of each model channel: RGB keeps order, BGR reverses it. */
export const sourceChannels = (pre: Pick<TensorPreprocess, 'channel_order'>): [number, number, number] =>
  pre.channel_order === 'RGB' ? [0, 1, 2] : [2, 1, 0];

/** Interleaved RGB (already resized to the model's input size) -> a [1, C, H, W] or [1, H, W, C] tensor. */
export function imageToTensor(
  image: RawImage,
  pre: TensorPreprocess,
  allocate: (length: number) => Float32Array = (length) => new Float32Array(length),
): TensorData {
  const { width, height } = image;
  if (image.channels !== 3) throw new Error(`expected an RGB image, got ${image.channels} channels`);
  if (width !== pre.width || height !== pre.height)
    throw new Error(`expected ${pre.width}x${pre.height}, got ${width}x${height}`);
  const plane = width * height;
  // Every element is written below, so a reused buffer (`allocate`, e.g. a runner's pool) is fine.
  const out = pre.dtype === 'float16' ? new Float32Array(plane * 3) : allocate(plane * 3);
  const { data } = image;
  const table = normalisationTable(pre);
  const [l0, l1, l2] = [0, 1, 2].map((c) => table.subarray(256 * c, 256 * (c + 1)));
  const [s0, s1, s2] = sourceChannels(pre);
  // One pass over the pixels; planar (NCHW) puts each channel in its own plane.
  const [o0, o1, o2, step] = pre.layout === 'NCHW' ? [0, plane, 2 * plane, 1] : [0, 1, 2, 3];
  for (let i = 0, j = 0, k = 0; i < plane; i++, j += 3, k += step) {
    out[o0 + k] = l0[data[j + s0]];
    out[o1 + k] = l1[data[j + s1]];
    out[o2 + k] = l2[data[j + s2]];
  }
  const dims = pre.layout === 'NCHW' ? [1, 3, height, width] : [1, height, width, 3];
  return pre.dtype === 'float16'
    ? { type: 'float16', dims, data: toFloat16(out) }
    : { type: 'float32', dims, data: out };
}

export interface TensorImageLayout {
  width: number;
  height: number;
  layout: 'NCHW' | 'NHWC';
  channel_order: 'RGB' | 'BGR';
  /** Value range of the tensor that maps to 0..255. */
  range: [number, number];
}

/** One image of a float tensor batch -> interleaved 8-bit RGB, clamped to the declared range. */
export function tensorToImage(data: Float32Array, index: number, layout: TensorImageLayout): RawImage {
  const { width, height } = layout;
  const plane = width * height;
  const base = index * plane * 3;
  const [lo, hi] = layout.range;
  const scale = 255 / (hi - lo);
  const dst = layout.channel_order === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  const out = Buffer.allocUnsafe(plane * 3);
  // Source index of pixel i, channel c: base + c * cStride + i * iStride.
  const [cStride, iStride] = layout.layout === 'NCHW' ? [plane, 1] : [1, 3];
  for (let c = 0; c < 3; c++) {
    const d = dst[c];
    for (let i = 0, src = base + c * cStride; i < plane; i++, src += iStride) {
      // Clamped into the range first; + 0.5 then truncation rounds half up, as Math.round does.
      const v = (data[src] - lo) * scale;
      out[i * 3 + d] = v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
    }
  }
  return { data: out, width, height, channels: 3 };
}

/** Numerically stable softmax. */
export function softmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/**
 * Indices of the k largest scores, best first (ties: the lower index first). One pass that keeps
 * the best k in order: for 1000 classes and k = 20 this is a few comparisons per score, where
 * sorting every index made and sorted a 1000-element array per image on the worker's main thread.
 */
export function topK(scores: Float32Array, k: number): number[] {
  const best: number[] = [];
  const n = Math.min(k, scores.length);
  if (n <= 0) return best;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    // Full: only a score above the worst kept one gets in (an equal one has a higher index).
    if (best.length === n && !(v > scores[best[n - 1]])) continue;
    let at = best.length === n ? n - 1 : best.length;
    while (at > 0 && v > scores[best[at - 1]]) {
      best[at] = best[at - 1];
      at--;
    }
    best[at] = i;
  }
  return best;
}
