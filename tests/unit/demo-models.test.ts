import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { buildDemoModels } from '../../scripts/build-demo-models';
import { VERSION_STAMP_FILE } from '../../scripts/demo-models/model-folder-writer';
import { gaussian } from '../../scripts/demo-models/seeded-random';
import { modelManifestSchema, type ClassifierManifest, type GeneratorManifest } from '../../src/models/model-manifest';
import { hashedBagOfWords } from '../../workers/generation/prompt-embedding';

let outDir: string;
let written: string[];
let ort: typeof Ort;

beforeAll(async () => {
  ort = await import('onnxruntime-node');
  outDir = mkdtempSync(path.join(tmpdir(), 'darkroom-demo-models-'));
  written = await buildDemoModels(outDir);
});

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function readManifest(folder: string) {
  return modelManifestSchema.parse(JSON.parse(readFileSync(path.join(outDir, folder, 'model.json'), 'utf8')));
}

function meanAbsDiff(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

describe('buildDemoModels', () => {
  it('writes every demo folder with a manifest that validates', () => {
    expect(written.map((folder) => path.basename(folder)).sort()).toEqual([
      'demo-colors',
      'demo-cppn',
      'demo-diffusion',
    ]);
    expect(readManifest('demo-cppn').kind).toBe('generator');
    expect(readManifest('demo-colors').kind).toBe('classifier');
    expect(readManifest('demo-diffusion').kind).toBe('diffusion');
  });

  it('skips folders that are current and rebuilds a stale one, byte for byte the same', async () => {
    expect(await buildDemoModels(outDir)).toEqual([]);
    const model = path.join(outDir, 'demo-colors', 'model.onnx');
    const before = readFileSync(model);
    writeFileSync(path.join(outDir, 'demo-colors', VERSION_STAMP_FILE), 'demo-colors/0\n');
    expect(await buildDemoModels(outDir)).toEqual([path.join(outDir, 'demo-colors')]);
    expect(readFileSync(model).equals(before)).toBe(true);
  });

  it('marks every demo "demo": true, also one built before the field existed, leaving its graph alone', async () => {
    for (const folder of ['demo-colors', 'demo-cppn', 'demo-diffusion']) expect(readManifest(folder).demo).toBe(true);
    const manifestFile = path.join(outDir, 'demo-cppn', 'model.json');
    const { demo: _demo, ...older } = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(manifestFile, JSON.stringify(older));
    const graph = readFileSync(path.join(outDir, 'demo-cppn', 'model.onnx'));
    expect(await buildDemoModels(outDir)).toEqual([path.join(outDir, 'demo-cppn')]);
    expect(readManifest('demo-cppn')).toEqual({ ...modelManifestSchema.parse(older), demo: true });
    expect(readFileSync(path.join(outDir, 'demo-cppn', 'model.onnx')).equals(graph)).toBe(true);
  });
});

describe('demo-cppn', () => {
  let session: Ort.InferenceSession;
  let manifest: GeneratorManifest;
  const images = 3;

  beforeAll(async () => {
    manifest = readManifest('demo-cppn') as GeneratorManifest;
    session = await ort.InferenceSession.create(path.join(outDir, 'demo-cppn', manifest.files.model));
  });

  afterAll(() => session.release());

  async function generate(seeds: number[], prompt: string): Promise<Float32Array[]> {
    const latentDim = manifest.latent.shape[0];
    const promptDim = manifest.prompt?.dim ?? 0;
    const latent = new Float32Array(seeds.length * latentDim);
    seeds.forEach((seed, i) => latent.set(Array.from({ length: latentDim }, gaussian(seed)), i * latentDim));
    const embedding = new Float32Array(seeds.length * promptDim);
    seeds.forEach((_, i) => embedding.set(hashedBagOfWords(prompt, promptDim), i * promptDim));
    const result = await session.run({
      [manifest.inputs.latent]: new ort.Tensor('float32', latent, [seeds.length, latentDim]),
      [manifest.prompt?.input ?? 'prompt_embedding']: new ort.Tensor('float32', embedding, [seeds.length, promptDim]),
    });
    const image = result[manifest.outputs.image];
    expect(image.dims).toEqual([seeds.length, 3, manifest.output.height, manifest.output.width]);
    const data = image.data as Float32Array;
    const size = data.length / seeds.length;
    return seeds.map((_, i) => data.subarray(i * size, (i + 1) * size));
  }

  it('declares a prompt-steered 256x256 generator', () => {
    expect(manifest.prompt).toMatchObject({ input: 'prompt_embedding', encoding: 'hashed_bag_of_words' });
    expect(manifest.output).toMatchObject({ width: 256, height: 256, range: [-1, 1], resize_kernel: 'lanczos3' });
  });

  it('draws a batch of clearly different images within -1..1', async () => {
    const batch = await generate([1, 2, 3], 'sunset over the sea');
    expect(batch).toHaveLength(images);
    for (const image of batch) {
      const mean = image.reduce((a, b) => a + b, 0) / image.length;
      const spread = Math.sqrt(image.reduce((a, b) => a + (b - mean) ** 2, 0) / image.length);
      expect(image.reduce((a, b) => Math.min(a, b))).toBeGreaterThanOrEqual(-1);
      expect(image.reduce((a, b) => Math.max(a, b))).toBeLessThanOrEqual(1);
      // A picture, not a flat fill.
      expect(spread).toBeGreaterThan(0.15);
    }
    expect(meanAbsDiff(batch[0], batch[1])).toBeGreaterThan(0.1);
    expect(meanAbsDiff(batch[0], batch[2])).toBeGreaterThan(0.1);
    expect(meanAbsDiff(batch[1], batch[2])).toBeGreaterThan(0.1);
  });

  it('is deterministic and changes with the prompt for the same latent', async () => {
    const [sea] = await generate([7], 'sunset over the sea');
    const [again] = await generate([7], 'sunset over the sea');
    const [forest] = await generate([7], 'moss in a dark forest');
    expect(meanAbsDiff(sea, again)).toBe(0);
    expect(meanAbsDiff(sea, forest)).toBeGreaterThan(0.1);
  });
});

describe('demo-colors', () => {
  let session: Ort.InferenceSession;
  let manifest: ClassifierManifest;
  const size = 64;

  beforeAll(async () => {
    manifest = readManifest('demo-colors') as ClassifierManifest;
    session = await ort.InferenceSession.create(path.join(outDir, 'demo-colors', manifest.files.model));
  });

  afterAll(() => session.release());

  /** Labels by score, best first, for an image whose pixel (x, y) has colour `paint(x, y)` (RGB 0..1). */
  async function ranked(
    paint: (x: number, y: number) => readonly number[],
  ): Promise<{ label: string; score: number }[]> {
    const pixels = new Float32Array(3 * size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const rgb = paint(x, y);
        for (let c = 0; c < 3; c++) pixels[c * size * size + y * size + x] = rgb[c];
      }
    }
    const result = await session.run({
      [manifest.inputs.image]: new ort.Tensor('float32', pixels, [1, 3, size, size]),
    });
    const scores = Array.from(result[manifest.outputs.scores].data as Float32Array);
    const labels = manifest.labels as string[];
    expect(scores).toHaveLength(labels.length);
    expect(scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    return scores.map((score, i) => ({ label: labels[i], score })).sort((a, b) => b.score - a.score);
  }

  it('declares what the worker must feed it', () => {
    expect(manifest.preprocess).toMatchObject({ width: size, height: size, resize: 'stretch', layout: 'NCHW' });
    expect(manifest.output_activation).toBe('none');
  });

  it.each([
    ['red', [1, 0, 0]],
    ['blue', [0, 0, 1]],
    ['white', [1, 1, 1]],
    ['black', [0, 0, 0]],
    ['yellow', [1, 0.92, 0.1]],
    ['brown', [0.55, 0.3, 0.1]],
  ])('names a solid %s image', async (label, rgb) => {
    const [top] = await ranked(() => rgb);
    expect(top.label).toBe(label);
    expect(top.score).toBeGreaterThan(0.99);
  });

  it('splits a half green, half gray image between green and gray', async () => {
    const [first, second, third] = await ranked((x) => (x < size / 2 ? [0, 1, 0] : [0.5, 0.5, 0.5]));
    expect([first.label, second.label].sort()).toEqual(['gray', 'green']);
    expect(first.score).toBeCloseTo(0.5, 2);
    expect(second.score).toBeCloseTo(0.5, 2);
    expect(third.score).toBeLessThan(0.01);
  });

  it('scores each image of a batch on its own', async () => {
    const pixels = new Float32Array(2 * 3 * size * size);
    pixels.fill(1, 0, size * size); // image 0: red
    pixels.fill(1, 3 * size * size + 2 * size * size, 6 * size * size); // image 1: blue
    const result = await session.run({ image: new ort.Tensor('float32', pixels, [2, 3, size, size]) });
    const scores = result.scores.data as Float32Array;
    const labels = manifest.labels as string[];
    const count = labels.length;
    expect(scores[labels.indexOf('red')]).toBeGreaterThan(0.99);
    expect(scores[count + labels.indexOf('blue')]).toBeGreaterThan(0.99);
  });
});
