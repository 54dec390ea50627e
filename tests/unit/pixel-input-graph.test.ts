import fs from 'node:fs';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import type * as Ort from 'onnxruntime-node';
import { createGraph } from '../../scripts/demo-models/onnx-graph';
import type { ImagePreprocess } from '../../src/models/model-manifest';
import { fromFloat16 } from '../../workers/imaging/float16';
import { imageToTensor, topK } from '../../workers/imaging/image-tensor';
import { concatBatch } from '../../workers/runtime/tensor-data';
import {
  pixelInputSpec,
  PixelInputUnsupported,
  withPixelInput,
  type PixelInputSpec,
} from '../../workers/runtime/pixel-input-graph';
import { fixtureClassifier, fixtureImageToImage } from '../helpers/fixture-manifests';
import { requireShared, SHARED } from '../helpers/paths';

let ort: typeof Ort;
beforeAll(async () => {
  ort = await import('onnxruntime-node');
});

const W = 5;
const H = 4;

const mobilenet = fixtureClassifier('mobilenetv2-12-int8');
const squeezenet = fixtureClassifier('squeezenet1.1');
/** ImageNet's normalisation (mobilenet's manifest), at W x H, with `over` changed. */
const preprocess = (over: Partial<ImagePreprocess>): ImagePreprocess => ({
  ...mobilenet.manifest.preprocess,
  width: W,
  height: H,
  ...over,
});

const specOf = (input: string, pre: ImagePreprocess): PixelInputSpec => pixelInputSpec(input, pre);

/** A graph that returns its image input (through Identity), in `layout`, optionally float16. */
function identityModel(layout: 'NCHW' | 'NHWC', dtype: 'float32' | 'float16', channels = 3): Uint8Array {
  const dims = layout === 'NCHW' ? ['N', channels, H, W] : ['N', H, W, channels];
  const g = createGraph('identity');
  g.input('image', dims);
  g.node('Identity', ['image'], {}, 'tensor');
  g.output('tensor', dims);
  const bytes = g.serialize({ opset: 13, producer: 'darkroom tests' });
  if (dtype === 'float32') return bytes;
  const model = onnx.ModelProto.decode(bytes);
  for (const v of [...model.graph!.input!, ...model.graph!.output!])
    v.type!.tensorType!.elemType = onnx.TensorProto.DataType.FLOAT16;
  return onnx.ModelProto.encode(model).finish();
}

/** `count` images of random bytes, and the same as one [count, H, W, 3] buffer. */
function randomImages(count: number, width: number, height: number) {
  const images = Array.from({ length: count }, () => ({
    data: Buffer.from(Array.from({ length: width * height * 3 }, () => Math.floor(Math.random() * 256))),
    width,
    height,
    channels: 3 as const,
  }));
  return { images, pixels: new Uint8Array(Buffer.concat(images.map((i) => i.data))) };
}

async function run(model: Uint8Array | string, feeds: Record<string, Ort.Tensor>): Promise<Ort.Tensor> {
  const session = await ort.InferenceSession.create(model as never, { executionProviders: ['cpu'] });
  try {
    const out = await session.run(feeds);
    return out[session.outputNames[0]];
  } finally {
    await session.release();
  }
}

const cases: { name: string; over: Partial<ImagePreprocess> }[] = [
  { name: 'ImageNet RGB, planar (NCHW)', over: {} },
  {
    name: 'Caffe-style BGR, 0..255 with means, planar',
    over: { channel_order: 'BGR', scale: 1, mean: [104, 117, 123], std: [1, 1, 1] },
  },
  { name: 'interleaved (NHWC), -1..1', over: { layout: 'NHWC', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } },
  { name: 'BGR, interleaved', over: { layout: 'NHWC', channel_order: 'BGR' } },
  { name: 'float16 input', over: { dtype: 'float16' } },
];

test.each(cases)(
  'the rewritten graph makes from 8-bit pixels the tensor imageToTensor makes: $name',
  async ({ over }) => {
    const pre = preprocess(over);
    const rewritten = withPixelInput(identityModel(pre.layout, pre.dtype), specOf('image', pre));
    const { images, pixels } = randomImages(3, W, H);
    const out = await run(rewritten, { image: new ort.Tensor('uint8', pixels, [3, H, W, 3]) });
    const expected = concatBatch(images.map((image) => imageToTensor(image, pre)));
    expect(out.type).toBe(expected.type);
    expect(out.dims).toEqual(expected.dims);
    expect(Array.from(out.data as Float32Array)).toEqual(Array.from(expected.data as Float32Array));
  },
);

// The real models with their fixture manifests: ImageNet RGB, and Caffe's BGR 0..255 minus means.
const realModels = [
  { name: 'mobilenetv2-12-int8', ...mobilenet, batch: 2 },
  { name: 'squeezenet1.1 (fp32)', ...squeezenet, batch: 2 },
];

test.each(realModels)('the real $name gives bit-identical outputs from pixels as from the JS tensor', async (m) => {
  const original = requireShared(path.relative(SHARED, m.modelPath));
  const input = m.manifest.inputs.image;
  const pre = m.manifest.preprocess;
  const rewritten = withPixelInput(fs.readFileSync(original), specOf(input, pre));
  const { images, pixels } = randomImages(m.batch, 224, 224);
  const tensor = concatBatch(images.map((image) => imageToTensor(image, pre)));
  const fromJs = await run(original, { [input]: new ort.Tensor(tensor.type, tensor.data as never, tensor.dims) });
  const fromPixels = await run(rewritten, { [input]: new ort.Tensor('uint8', pixels, [m.batch, 224, 224, 3]) });
  expect(fromPixels.dims).toEqual(fromJs.dims);
  expect(Buffer.from((fromPixels.data as Float32Array).buffer)).toEqual(
    Buffer.from((fromJs.data as Float32Array).buffer),
  );
});

test('the real style-transfer graph (opset 7, BGR 0..255) gives bit-identical images from pixels', async () => {
  const { manifest, modelPath } = fixtureImageToImage('fast-neural-style-candy');
  const original = requireShared(path.relative(SHARED, modelPath));
  const pre = { ...manifest.preprocess, width: 720, height: 720, layout: 'NCHW' as const, dtype: 'float32' as const };
  const rewritten = withPixelInput(fs.readFileSync(original), pixelInputSpec(manifest.inputs.image, pre));
  const { images, pixels } = randomImages(1, 720, 720);
  const tensor = imageToTensor(images[0], pre);
  const input = manifest.inputs.image;
  const fromJs = await run(original, { [input]: new ort.Tensor('float32', tensor.data as Float32Array, tensor.dims) });
  const fromPixels = await run(rewritten, { [input]: new ort.Tensor('uint8', pixels, [1, 720, 720, 3]) });
  expect(Buffer.from((fromPixels.data as Float32Array).buffer)).toEqual(
    Buffer.from((fromJs.data as Float32Array).buffer),
  );
});

test('a float16 model (squeezenet as published) gives the same top 5 from pixels, scores within float16 precision', async () => {
  // The CPU provider runs float16 convolutions in float32 and drops the Cast pair it would insert
  // after the graph's own Cast to float16, so the first layer sees the unrounded float32 values.
  const original = requireShared('models/squeezenet1.1/squeezenet1.1-fp16.onnx');
  const pre = { ...squeezenet.manifest.preprocess, dtype: 'float16' as const };
  const rewritten = withPixelInput(fs.readFileSync(original), specOf('data_0', pre));
  const { images, pixels } = randomImages(1, 224, 224);
  const tensor = imageToTensor(images[0], pre);
  const scores = async (model: Uint8Array | string, feed: Ort.Tensor) =>
    fromFloat16((await run(model, { data_0: feed })).data as Uint16Array);
  const fromJs = await scores(original, new ort.Tensor('float16', tensor.data as Uint16Array, tensor.dims));
  const fromPixels = await scores(rewritten, new ort.Tensor('uint8', pixels, [1, 224, 224, 3]));
  expect(topK(fromPixels, 5)).toEqual(topK(fromJs, 5));
  for (const [i, v] of fromPixels.entries()) expect(Math.abs(v - fromJs[i])).toBeLessThanOrEqual(2e-3);
});

test('graphs it cannot rewrite are refused with the reason, not changed', () => {
  const pre = preprocess({});
  expect(() => withPixelInput(identityModel('NCHW', 'float32'), specOf('pixels', pre))).toThrow(
    new PixelInputUnsupported('the graph has no input pixels'),
  );
  expect(() => withPixelInput(identityModel('NCHW', 'float32', 1), specOf('image', pre))).toThrow(
    /has 1 channels, not 3/,
  );
  // Before opset 7, Mul and Add broadcast only with an attribute.
  const old = createGraph('old');
  old.input('image', ['N', 3, H, W]);
  old.node('Identity', ['image'], {}, 'tensor');
  old.output('tensor', ['N', 3, H, W]);
  expect(() => withPixelInput(old.serialize({ opset: 6, producer: 'darkroom tests' }), specOf('image', pre))).toThrow(
    /opset 6 is older than 7/,
  );
  // Its input is its output: nothing can stand between them.
  const g = createGraph('passthrough');
  g.input('image', ['N', 3, H, W]);
  g.output('image', ['N', 3, H, W]);
  expect(() => withPixelInput(g.serialize({ opset: 13, producer: 'darkroom tests' }), specOf('image', pre))).toThrow(
    /also a graph output/,
  );
});
