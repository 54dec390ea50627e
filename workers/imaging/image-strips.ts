import type { RawImage } from '../../src/imaging/image-codec';
import type { TensorData } from '../runtime/tensor-data';
import { imageToTensor, tensorToImage, type TensorImageLayout, type TensorPreprocess } from './image-tensor';

/**
 * Pixel loops over large images, cut into strips of rows with the event loop free between strips:
 * a worker converting megapixel images must still renew job locks, send heartbeats and hear
 * cancels. Each strip is handed to the pure functions of image-tensor.ts and luma-chroma.ts.
 */

/** About this many pixels per strip: a few milliseconds of work. */
const STRIP_PIXELS = 1 << 16;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Calls `fn(from, to)` for consecutive strips of rows covering 0..height, yielding between them. */
export async function inStrips(width: number, height: number, fn: (from: number, to: number) => void): Promise<void> {
  const rows = Math.max(1, Math.floor(STRIP_PIXELS / width));
  for (let from = 0; from < height; from += rows) {
    if (from > 0) await yieldToEventLoop();
    fn(from, Math.min(height, from + rows));
  }
}

const rowsOf = (image: RawImage, from: number, to: number): RawImage => ({
  ...image,
  data: image.data.subarray(from * image.width * image.channels, to * image.width * image.channels),
  height: to - from,
});

/** `imageToTensor`, strip by strip. */
export async function imageToTensorInStrips(image: RawImage, pre: TensorPreprocess): Promise<TensorData> {
  const { width, height } = image;
  if (width !== pre.width || height !== pre.height)
    throw new Error(`expected ${pre.width}x${pre.height}, got ${width}x${height}`);
  const plane = width * height;
  // float32 values or float16 bits, as imageToTensor makes them.
  const data = pre.dtype === 'float16' ? new Uint16Array(plane * 3) : new Float32Array(plane * 3);
  await inStrips(width, height, (from, to) => {
    const n = (to - from) * width;
    const strip = imageToTensor(rowsOf(image, from, to), { ...pre, height: to - from }).data as
      Float32Array | Uint16Array;
    if (pre.layout === 'NHWC') data.set(strip, from * width * 3);
    else for (let c = 0; c < 3; c++) data.set(strip.subarray(c * n, (c + 1) * n), c * plane + from * width);
  });
  const dims = pre.layout === 'NCHW' ? [1, 3, height, width] : [1, height, width, 3];
  return data instanceof Uint16Array ? { type: 'float16', dims, data } : { type: 'float32', dims, data };
}

/** `tensorToImage` (image `index` of the batch), strip by strip. */
export async function tensorToImageInStrips(
  data: Float32Array,
  index: number,
  layout: TensorImageLayout,
): Promise<RawImage> {
  const { width, height } = layout;
  const plane = width * height;
  const base = index * plane * 3;
  const out = Buffer.allocUnsafe(plane * 3); // every row is written below
  await inStrips(width, height, (from, to) => {
    const n = (to - from) * width;
    let strip: Float32Array;
    if (layout.layout === 'NHWC') strip = data.subarray(base + from * width * 3, base + to * width * 3);
    else {
      strip = new Float32Array(n * 3);
      for (let c = 0; c < 3; c++)
        strip.set(data.subarray(base + c * plane + from * width, base + c * plane + to * width), c * n);
    }
    tensorToImage(strip, 0, { ...layout, height: to - from }).data.copy(out, from * width * 3);
  });
  return { data: out, width, height, channels: 3 };
}
