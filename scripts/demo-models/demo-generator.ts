import type { GeneratorManifest } from '../../src/models/model-manifest';
import { createGraph, attr, type GraphBuilder } from './onnx-graph';
import { gaussian, normalArray } from './seeded-random';

/**
 * demo-cppn: a compositional pattern producing network. Every pixel's coordinates go through a
 * small sine/tanh MLP whose frequencies and biases are set per image from the latent and the
 * prompt; the MLP's scalar output indexes a cosine palette (a + b cos 2π(c t + d)) chosen by the
 * same conditioning. Smooth in x and y by construction, so it draws colour fields, never noise.
 */

/** Bump when the graph or its weights change, so `build-demo-models` rewrites the folder. */
export const GENERATOR_VERSION = 'demo-cppn/1';

const SIZE = 256;
const LATENT_DIM = 16;
const PROMPT_DIM = 32;
const COND_DIM = LATENT_DIM + PROMPT_DIM;
const HIDDEN = 24;
const SEED = 0x5eed_c99;

/** Per-pixel features: position, radius and two swirled copies of the plane (for spirals). */
function coordinateFeatures(): { values: Float32Array; count: number } {
  const count = 7;
  const values = new Float32Array(SIZE * SIZE * count);
  for (let row = 0; row < SIZE; row++) {
    for (let col = 0; col < SIZE; col++) {
      const x = (2 * col + 1) / SIZE - 1;
      const y = (2 * row + 1) / SIZE - 1;
      const r = Math.hypot(x, y);
      const features = [x, y, r];
      for (const twist of [2.5, -1.5]) {
        const angle = twist * r;
        features.push(x * Math.cos(angle) - y * Math.sin(angle), x * Math.sin(angle) + y * Math.cos(angle));
      }
      values.set(features, (row * SIZE + col) * count);
    }
  }
  return { values, count };
}

/** An affine map of a conditioning vector [N, dim], reshaped to [N, 1, width] to broadcast over pixels. */
function conditioned(
  g: GraphBuilder,
  cond: string,
  dim: number,
  next: () => number,
  width: number,
  std: number,
  bias: number[],
): string {
  const weight = g.floats('w_cond', [dim, width], normalArray(next, dim * width, std / Math.sqrt(dim)));
  const shifted = g.node('Add', [g.node('MatMul', [cond, weight]), g.floats('b_cond', [width], bias)]);
  return g.node('Reshape', [shifted, g.int64s('shape', [-1, 1, width])]);
}

/** A dense layer over the pixel axis: [N, HW, in] -> [N, HW, out]. */
function dense(g: GraphBuilder, x: string, next: () => number, inputs: number, outputs: number, gain: number): string {
  const weight = normalArray(next, inputs * outputs, gain / Math.sqrt(inputs));
  return g.node('MatMul', [x, g.floats('w', [inputs, outputs], weight)]);
}

/** Serialized demo-cppn graph; deterministic bytes. */
export function buildGeneratorModel(): Uint8Array {
  const next = gaussian(SEED);
  const g = createGraph('demo_cppn');
  const latent = g.input('latent', ['N', LATENT_DIM]);
  const prompt = g.input('prompt_embedding', ['N', PROMPT_DIM]);
  const cond = g.node('Concat', [latent, prompt], { axis: attr.int(1) });

  const coords = coordinateFeatures();
  const pixels = g.floats('coords', [SIZE * SIZE, coords.count], coords.values);
  // Each image gets its own projection of the coordinate features (directions of bands, which
  // swirl dominates): a shared matrix plus one computed from the conditioning, [N, F, HIDDEN].
  const features = coords.count;
  const shared = g.floats(
    'w_coords',
    [features, HIDDEN],
    normalArray(next, features * HIDDEN, 1.4 / Math.sqrt(features)),
  );
  const mixing = normalArray(next, COND_DIM * features * HIDDEN, 1.4 / Math.sqrt(features * COND_DIM));
  const ownFlat = g.node('MatMul', [cond, g.floats('w_mix', [COND_DIM, features * HIDDEN], mixing)]);
  const own = g.node('Reshape', [ownFlat, g.int64s('shape', [-1, features, HIDDEN])]);
  const projected = g.node('MatMul', [pixels, g.node('Add', [own, shared])]);

  // Layer 1: the conditioning scales each unit's spatial frequency and shifts its phase.
  const ones = new Array<number>(HIDDEN).fill(1);
  const frequency = conditioned(g, cond, COND_DIM, next, HIDDEN, 0.5, ones);
  const phase = conditioned(g, cond, COND_DIM, next, HIDDEN, 1.5, new Array<number>(HIDDEN).fill(0));
  // A per-image zoom (log-normal) lets some seeds draw broad fields and others fine bands.
  const zoom = g.node('Exp', [conditioned(g, latent, LATENT_DIM, next, 1, 0.45, [0])]);
  const scaled = g.node('Mul', [g.node('Mul', [projected, frequency]), zoom]);
  const h1 = g.node('Sin', [g.node('Add', [scaled, phase])]);

  // Layers 2 and 3 fold the waves into each other; the conditioned biases move the folds.
  const zeros = new Array<number>(HIDDEN).fill(0);
  const layer2 = dense(g, h1, next, HIDDEN, HIDDEN, 1.6);
  const h2 = g.node('Tanh', [g.node('Add', [layer2, conditioned(g, cond, COND_DIM, next, HIDDEN, 0.8, zeros)])]);
  const layer3 = dense(g, h2, next, HIDDEN, HIDDEN, 1.8);
  const h3 = g.node('Sin', [g.node('Add', [layer3, conditioned(g, cond, COND_DIM, next, HIDDEN, 0.8, zeros)])]);
  const t = dense(g, h3, next, HIDDEN, 1, 1.0);

  // Cosine palette in -1..1 space: colour = a + b cos(2π (c t + d)), a, b, c, d per image and channel.
  // The palette listens to the prompt only, so one prompt keeps its colours across seeds.
  const a = conditioned(g, prompt, PROMPT_DIM, next, 3, 0.25, [0, 0, 0]);
  const b = conditioned(g, prompt, PROMPT_DIM, next, 3, 0.12, [0.7, 0.7, 0.7]);
  const c = conditioned(g, prompt, PROMPT_DIM, next, 3, 0.08, [0.35, 0.35, 0.35]);
  const d = conditioned(g, prompt, PROMPT_DIM, next, 3, 0.35, [0.0, 0.1, 0.2]);
  const turns = g.node('Add', [g.node('Mul', [t, c]), d]);
  const wave = g.node('Cos', [g.node('Mul', [turns, g.floats('two_pi', [1], [2 * Math.PI])])]);
  const colour = g.node('Add', [a, g.node('Mul', [b, wave])]);
  const clipped = g.node('Clip', [colour, g.floats('lo', [], [-1]), g.floats('hi', [], [1])]);

  const hwc = g.node('Reshape', [clipped, g.int64s('shape', [-1, SIZE, SIZE, 3])]);
  g.node('Transpose', [hwc], { perm: attr.ints([0, 3, 1, 2]) }, 'image');
  g.output('image', ['N', 3, SIZE, SIZE]);
  return g.serialize({ opset: 13, producer: 'darkroom build-demo-models', docString: GENERATOR_VERSION });
}

/** The manifest written next to demo-cppn's model.onnx. */
export const generatorManifest: GeneratorManifest = {
  name: 'demo-cppn',
  kind: 'generator',
  description:
    'Demo CPPN: smooth abstract colour fields, steered by the seed and the prompt. Built by scripts/build-demo-models.ts.',
  files: { model: 'model.onnx' },
  inputs: { latent: 'latent' },
  outputs: { image: 'image' },
  latent: { shape: [LATENT_DIM], distribution: 'normal' },
  prompt: { input: 'prompt_embedding', encoding: 'hashed_bag_of_words', dim: PROMPT_DIM },
  batching: { max_batch_size: 8, max_queue_delay_ms: 4 },
  output: {
    width: SIZE,
    height: SIZE,
    channel_order: 'RGB',
    range: [-1, 1],
    layout: 'NCHW',
    resize_kernel: 'lanczos3',
    max_width: 1024,
    max_height: 1024,
  },
};
