import path from 'node:path';
import { createLogger } from '../../src/logger';
import { imageToTensor } from '../../workers/imaging/image-tensor';
import { pixelInputSpec } from '../../workers/runtime/pixel-input-graph';
import type { Feeds } from '../../workers/runtime/tensor-data';
import { fixtureClassifier } from '../helpers/fixture-manifests';
import { DIST, requireBuilt, requireShared, SHARED } from '../helpers/paths';

/**
 * A classifier's runner takes 8-bit pixels where its graph can be rewritten to (pixel-input-graph.ts):
 * the real inference thread rewrites the real model, batches pixel feeds, and the scores are the
 * ones the JS-normalised tensor gives, bit for bit. Where the graph cannot be rewritten, the runner
 * keeps the float input.
 */

type RunnerModule = typeof import('../../workers/runtime/model-runner');
let runtime: RunnerModule;
beforeAll(async () => {
  requireBuilt();
  runtime = await import(path.join(DIST, 'workers', 'runtime', 'model-runner.js'));
});

const { manifest, modelPath } = fixtureClassifier('mobilenetv2-12-int8');
const PRE = manifest.preprocess;

const start = (pixelInput?: ReturnType<typeof pixelInputSpec>, providers = ['cpu']) =>
  runtime.startModelRunner({
    name: 'mobilenet',
    modelPath: requireShared(path.relative(SHARED, modelPath)),
    providers,
    intraOpThreads: 1,
    maxBatchSize: 8,
    maxQueueDelayMs: 20,
    logger: createLogger('silent', 'test'),
    pixelInput,
  });

const images = Array.from({ length: 3 }, (_, i) => ({
  data: Buffer.from(Array.from({ length: 224 * 224 * 3 }, (_, j) => (j * 31 + i * 97 + ((j * j) % 251)) % 256)),
  width: 224,
  height: 224,
  channels: 3 as const,
}));

const scoresOf = (out: Feeds) => {
  const data = out.output.data as Float32Array;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
};

test('the inference thread rewrites the graph; batched pixel feeds give the scores of the JS tensors', async () => {
  const pixels = await start(pixelInputSpec('input', PRE));
  const floats = await start();
  try {
    expect(pixels.inputs).toEqual([{ name: 'input', type: 'uint8', dims: ['batch_size', 224, 224, 3] }]);
    expect(floats.inputs[0].type).toBe('float32');
    // Three requests at once: one session.run of three images.
    const fromPixels = await Promise.all(
      images.map((image) =>
        pixels.run({ input: { type: 'uint8', dims: [1, 224, 224, 3], data: new Uint8Array(image.data) } }),
      ),
    );
    expect(pixels.stats()).toMatchObject({ runs: 1, items: 3 });
    for (const [i, image] of images.entries()) {
      const fromJs = await floats.run({ input: imageToTensor(image, PRE) });
      expect(scoresOf(fromPixels[i])).toEqual(scoresOf(fromJs));
    }
  } finally {
    await Promise.all([pixels.close(), floats.close()]);
  }
});

test('a graph that cannot take pixels keeps its float input and still runs', async () => {
  const runner = await start(pixelInputSpec('no_such_input', PRE));
  try {
    expect(runner.inputs[0]).toMatchObject({ name: 'input', type: 'float32' });
    const out = await runner.run({ input: imageToTensor(images[0], PRE) });
    expect(out.output.dims).toEqual([1, 1000]);
  } finally {
    await runner.close();
  }
});

test('a provider that cannot load anything (CUDA on a machine without it) does not cost the next one the pixel graph', async () => {
  // A GPU fleet's setting, ORT_EXECUTION_PROVIDERS=cuda,cpu, on a worker without CUDA: both graphs
  // fail with CUDA, so the rewrite is not to blame, and the CPU provider still loads it.
  const runner = await start(pixelInputSpec(manifest.inputs.image, PRE), ['cuda', 'cpu']);
  try {
    expect(runner.inputs[0]).toMatchObject({ name: 'input', type: 'uint8' });
  } finally {
    await runner.close();
  }
});
