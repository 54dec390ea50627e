import type { RawImage } from '../../src/imaging/image-codec';

/**
 * BT.601 full-range YCbCr (the JPEG convention), as pure functions. Luma-only models
 * (super-resolution) see Y; the chroma of the result comes from an ordinary resize of the input.
 * The image-wide functions take an optional range of rows so a caller can work in strips.
 */

/** Rows `from` (inclusive) to `to` (exclusive). */
export interface RowRange {
  from: number;
  to: number;
}

const clampByte = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** 8-bit R, G, B -> Y, Cb, Cr (floats, 0..255 for in-range inputs). */
export function rgbToYCbCr(r: number, g: number, b: number): [number, number, number] {
  return [
    0.299 * r + 0.587 * g + 0.114 * b,
    128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
    128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
  ];
}

/** Y, Cb, Cr -> 8-bit R, G, B, rounded and clamped to 0..255. */
export function yCbCrToRgb(y: number, cb: number, cr: number): [number, number, number] {
  return [
    clampByte(y + 1.402 * (cr - 128)),
    clampByte(y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128)),
    clampByte(y + 1.772 * (cb - 128)),
  ];
}

function checkRgb(image: RawImage): void {
  if (image.channels !== 3) throw new Error(`expected an RGB image, got ${image.channels} channels`);
}

/** Interleaved 8-bit RGB -> a luma plane, value = (Y * scale - mean) / std; fills `rows` of `out`. */
export function lumaPlane(
  image: RawImage,
  scale: number,
  mean = 0,
  std = 1,
  out = new Float32Array(image.width * image.height),
  rows: RowRange = { from: 0, to: image.height },
): Float32Array {
  checkRgb(image);
  const src = image.data;
  const inv = 1 / std;
  const end = rows.to * image.width;
  for (let i = rows.from * image.width, p = i * 3; i < end; i++, p += 3) {
    out[i] = ((0.299 * src[p] + 0.587 * src[p + 1] + 0.114 * src[p + 2]) * scale - mean) * inv;
  }
  return out;
}

/**
 * Keeps the chroma (Cb, Cr) of `chroma` and replaces its luma by `luma`, a plane of the same size
 * whose values in `range` map to Y = 0..255 (clamped). Fills `rows` of `out` (interleaved 8-bit RGB).
 */
export function replaceLuma(
  chroma: RawImage,
  luma: Float32Array,
  range: [number, number],
  out: Buffer = Buffer.alloc(chroma.width * chroma.height * 3),
  rows: RowRange = { from: 0, to: chroma.height },
): RawImage {
  const { width, height } = chroma;
  checkRgb(chroma);
  if (luma.length !== width * height) throw new Error(`luma has ${luma.length} values, expected ${width}x${height}`);
  const [lo, hi] = range;
  const k = 255 / (hi - lo);
  const src = chroma.data;
  // Clamped array: stores round and clamp to 0..255 without branches. This loop runs over every
  // output pixel (9x the input for a 3x model), so rgbToYCbCr / yCbCrToRgb are inlined.
  const dst = new Uint8ClampedArray(out.buffer, out.byteOffset, out.length);
  const end = rows.to * width;
  for (let i = rows.from * width, p = i * 3; i < end; i++, p += 3) {
    const r = src[p];
    const g = src[p + 1];
    const b = src[p + 2];
    const cb = -0.168736 * r - 0.331264 * g + 0.5 * b; // Cb - 128
    const cr = 0.5 * r - 0.418688 * g - 0.081312 * b; // Cr - 128
    let y = (luma[i] - lo) * k;
    y = y < 0 ? 0 : y > 255 ? 255 : y;
    dst[p] = y + 1.402 * cr;
    dst[p + 1] = y - 0.344136 * cb - 0.714136 * cr;
    dst[p + 2] = y + 1.772 * cb;
  }
  return { data: out, width, height, channels: 3 };
}
