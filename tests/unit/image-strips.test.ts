import { imagePreprocessSchema } from '../../src/models/model-manifest';
import { imageToTensorInStrips, inStrips, tensorToImageInStrips } from '../../workers/imaging/image-strips';
import { imageToTensor, tensorToImage } from '../../workers/imaging/image-tensor';

// Tall enough for several strips (about 64k pixels each), with a short last strip.
const width = 300;
const height = 517;
const image = {
  data: Buffer.from(Array.from({ length: width * height * 3 }, (_, i) => (i * 7919) % 256)),
  width,
  height,
  channels: 3 as const,
};

test('inStrips covers every row once, in order, and lets the event loop run between strips', async () => {
  const seen: [number, number][] = [];
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  await inStrips(width, height, (from, to) => {
    seen.push([from, to]);
    const until = Date.now() + 3;
    while (Date.now() < until); // a strip's worth of work
  });
  clearInterval(timer);
  expect(seen.length).toBeGreaterThan(2);
  expect(seen[0][0]).toBe(0);
  expect(seen.at(-1)![1]).toBe(height);
  for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBe(seen[i - 1][1]);
  expect(ticks).toBeGreaterThan(0);
});

test.each([
  ['NCHW float32 BGR', { layout: 'NCHW', channel_order: 'BGR', scale: 1 }],
  ['NHWC float32 with mean/std', { layout: 'NHWC', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }],
  ['NCHW float16', { layout: 'NCHW', dtype: 'float16' }],
])('imageToTensorInStrips equals imageToTensor: %s', async (_name, options) => {
  const pre = imagePreprocessSchema.parse({ width, height, ...options });
  const strips = await imageToTensorInStrips(image, pre);
  const whole = imageToTensor(image, pre);
  expect({ type: strips.type, dims: strips.dims }).toEqual({ type: whole.type, dims: whole.dims });
  expect(Buffer.from(strips.data.buffer).equals(Buffer.from(whole.data.buffer))).toBe(true);
});

test.each(['NCHW', 'NHWC'] as const)(
  'tensorToImageInStrips equals tensorToImage (%s, second image of a batch)',
  async (layout) => {
    const data = Float32Array.from({ length: 2 * width * height * 3 }, (_, i) => ((i * 104729) % 600) - 300);
    const opts = { width, height, layout, channel_order: 'BGR' as const, range: [-255, 255] as [number, number] };
    expect((await tensorToImageInStrips(data, 1, opts)).data.equals(tensorToImage(data, 1, opts).data)).toBe(true);
  },
);
