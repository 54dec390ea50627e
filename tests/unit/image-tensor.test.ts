import { imageToTensor, softmax, tensorToImage, topK } from '../../workers/imaging/image-tensor';
import { fromFloat16, toFloat16 } from '../../workers/imaging/float16';
import { imagePreprocessSchema } from '../../src/models/model-manifest';

const pixel = (r: number, g: number, b: number, n = 4) => ({
  data: Buffer.from(Array.from({ length: n }, () => [r, g, b]).flat()),
  width: 2,
  height: n / 2,
  channels: 3 as const,
});

test('ImageNet normalisation, planar RGB', () => {
  const pre = imagePreprocessSchema.parse({
    width: 2,
    height: 2,
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
  });
  const t = imageToTensor(pixel(255, 0, 128), pre);
  expect(t.dims).toEqual([1, 3, 2, 2]);
  const d = t.data as Float32Array;
  expect(d[0]).toBeCloseTo((1 - 0.485) / 0.229, 5);
  expect(d[4]).toBeCloseTo((0 - 0.456) / 0.224, 5);
  expect(d[8]).toBeCloseTo((128 / 255 - 0.406) / 0.225, 5);
});

test('Caffe-style BGR with per-channel means in model order', () => {
  const pre = imagePreprocessSchema.parse({
    width: 2,
    height: 2,
    channel_order: 'BGR',
    scale: 1,
    mean: [103.94, 116.78, 123.68],
  });
  const d = imageToTensor(pixel(200, 100, 50), pre).data as Float32Array;
  expect([d[0], d[4], d[8]].map((v) => Number(v.toFixed(2)))).toEqual(
    [50 - 103.94, 100 - 116.78, 200 - 123.68].map((v) => Number(v.toFixed(2))),
  );
});

test('NHWC layout interleaves channels', () => {
  const pre = imagePreprocessSchema.parse({ width: 2, height: 2, layout: 'NHWC', scale: 1 });
  const t = imageToTensor(pixel(1, 2, 3), pre);
  expect(t.dims).toEqual([1, 2, 2, 3]);
  expect(Array.from(t.data as Float32Array).slice(0, 6)).toEqual([1, 2, 3, 1, 2, 3]);
});

test('a reused buffer with old contents (a runner pool) gives the same tensor as a new one, in both layouts', () => {
  for (const layout of ['NCHW', 'NHWC'] as const) {
    const pre = imagePreprocessSchema.parse({ width: 2, height: 2, layout, mean: [0.485, 0.456, 0.406] });
    const image = {
      data: Buffer.from([1, 2, 3, 40, 50, 60, 70, 80, 90, 200, 210, 220]),
      width: 2,
      height: 2,
      channels: 3 as const,
    };
    const used = new Float32Array(12).fill(Number.NaN);
    const t = imageToTensor(image, pre, (n) => (n === used.length ? used : new Float32Array(n)));
    expect(t.data).toBe(used);
    expect(Array.from(used)).toEqual(Array.from(imageToTensor(image, pre).data as Float32Array));
  }
});

test('tensor -> image maps the range to 0..255 and clamps', () => {
  const data = Float32Array.from([-1, 0, 1, 2, /* G */ -1, -1, -1, -1, /* B */ 1, 1, 1, 1]);
  const img = tensorToImage(data, 0, { width: 2, height: 2, layout: 'NCHW', channel_order: 'RGB', range: [-1, 1] });
  expect(Array.from(img.data.subarray(0, 12))).toEqual([0, 0, 255, 128, 0, 255, 255, 0, 255, 255, 0, 255]);
  const bgr = tensorToImage(data, 0, { width: 2, height: 2, layout: 'NCHW', channel_order: 'BGR', range: [-1, 1] });
  expect(Array.from(bgr.data.subarray(0, 3))).toEqual([255, 0, 0]);
});

test('softmax and top-k', () => {
  const p = softmax(Float32Array.from([1000, 1001, 999]));
  expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  expect(topK(p, 2)).toEqual([1, 0]);
});

test('top-k keeps the k largest, best first, ties by the lower index (as sorting every index does)', () => {
  const bySorting = (s: Float32Array, k: number) => [...s.keys()].sort((a, b) => s[b] - s[a] || a - b).slice(0, k);
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let trial = 0; trial < 200; trial++) {
    const length = 1 + Math.floor(random() * 60);
    // Few distinct values, so ties are common.
    const scores = Float32Array.from({ length }, () => Math.floor(random() * 8) / 8);
    for (const k of [1, 5, 20, length, length + 3]) expect(topK(scores, k)).toEqual(bySorting(scores, k));
  }
  expect(topK(Float32Array.from([0.1, 0.9]), 0)).toEqual([]);
  expect(topK(new Float32Array(0), 5)).toEqual([]);
});

test('float16 round trip', () => {
  const values = Float32Array.from([0, 1, -2.5, 65504, 1e-5, 0.1, -0]);
  const back = fromFloat16(toFloat16(values));
  for (const [i, v] of back.entries())
    expect(Math.abs(v - values[i])).toBeLessThanOrEqual(Math.abs(values[i]) * 1e-3 + 1e-7);
  expect(toFloat16(Float32Array.from([1]))[0]).toBe(0x3c00);
  expect(toFloat16(Float32Array.from([1e6]))[0]).toBe(0x7c00);
});
