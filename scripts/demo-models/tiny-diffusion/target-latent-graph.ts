import { attr, type GraphBuilder } from '../onnx-graph';
import { normalArray } from '../seeded-random';
import { alongAxis, dimension, pixelCentres, scalar } from './graph-coordinates';
import { COLOUR_GAIN, LATENT_BASIS } from './latent-colour-space';
import { CONTENT_DIM, HIDDEN_SIZE, TINT_DIMS } from './text-encoder-graph';

/**
 * x0(prompt): the clean latent the tiny UNet denoises towards, drawn inside the graph as a small
 * scene on a coordinate grid: a graded sky over ground beyond a tilted, rolling horizon, ripples
 * on the ground, and soft discs (suns, moons, planets). Every colour, angle, position and size is a
 * function of the pooled text state; colour words add their tint. The empty prompt ("there is
 * no word") draws a plain neutral gradient, so classifier-free guidance amplifies the prompt's
 * own scene instead of subtracting a second one.
 */

const FEATURES = 24;
const DISCS = 3;
const TINT_GAIN = 1.5;
// Disc edge sharpness per unit of the grid (the shorter image side spans 2 units).
const EDGE = 45;
const NEUTRAL_TOP = [-0.15, 0.0, 0.2];
const NEUTRAL_BOTTOM = [0.1, 0.05, -0.05];

interface Scene {
  g: GraphBuilder;
  next: () => number;
  features: string;
}

/** A per-image scalar in [lo, hi] as [batch, 1, 1, 1]. */
function ranged(s: Scene, lo: number, hi: number): string {
  const { g } = s;
  const weight = g.floats('w_param', [FEATURES, 1], normalArray(s.next, FEATURES, 3 / Math.sqrt(FEATURES)));
  const unit = g.node('Sigmoid', [
    g.node('Add', [g.node('MatMul', [s.features, weight]), g.floats('b_param', [1], [s.next() * 0.5])]),
  ]);
  return g.node('Reshape', [
    g.node('Add', [g.node('Mul', [unit, scalar(g, hi - lo)]), scalar(g, lo)]),
    g.int64s('shape', [-1, 1, 1, 1]),
  ]);
}

/** An unbounded per-image value (for angles that wrap), as [batch, 1, 1, 1]. */
function free(s: Scene, std: number): string {
  const { g } = s;
  const weight = g.floats('w_param', [FEATURES, 1], normalArray(s.next, FEATURES, std / Math.sqrt(FEATURES)));
  return g.node('Reshape', [g.node('MatMul', [s.features, weight]), g.int64s('shape', [-1, 1, 1, 1])]);
}

/**
 * A colour as [batch, 3, 1, 1] on the hue circle (a cosine palette): lightness + saturation x
 * (cos h, cos(h - 120°), cos(h + 120°)) + the prompt's tint. Hues cover the circle evenly, so
 * prompts get every colour, and elements related by hue offsets stay in harmony.
 */
function colour(
  s: Scene,
  hue: string,
  lightness: [number, number],
  saturation: [number, number],
  tint: string,
): string {
  const { g } = s;
  const wheel = g.node('Cos', [
    g.node('Add', [hue, g.floats('hue_offsets', [1, 3, 1, 1], [0, (-2 * Math.PI) / 3, (2 * Math.PI) / 3])]),
  ]);
  const chroma = g.node('Mul', [wheel, ranged(s, ...saturation)]);
  return g.node('Add', [g.node('Add', [chroma, ranged(s, ...lightness)]), tint]);
}

/** `hue` turned by a per-image angle in [-spread, spread]. */
function turned(s: Scene, hue: string, spread: number): string {
  return s.g.node('Add', [hue, ranged(s, -spread, spread)]);
}

/** Column selector [HIDDEN_SIZE, dims.length] scaled by `gain`: picks reserved hidden dimensions. */
function selector(g: GraphBuilder, dims: readonly number[], gain: number): string {
  const values = new Float32Array(HIDDEN_SIZE * dims.length);
  dims.forEach((d, column) => (values[d * dims.length + column] = gain));
  return g.floats('select', [HIDDEN_SIZE, dims.length], values);
}

/** Appends the x0 subgraph; returns a [batch, 4, height, width] value shaped like `sample`. */
export function targetLatent(g: GraphBuilder, next: () => number, sample: string, context: string): string {
  const pooled = g.node('ReduceMean', [context], { axes: attr.ints([1]), keepdims: attr.int(0) });
  const strength = g.node('Reshape', [
    g.node('MatMul', [pooled, selector(g, [CONTENT_DIM], 1)]),
    g.int64s('shape', [-1, 1, 1, 1]),
  ]);
  const tint = g.node('Reshape', [
    g.node('MatMul', [pooled, selector(g, TINT_DIMS, TINT_GAIN)]),
    g.int64s('shape', [-1, 3, 1, 1]),
  ]);
  const projection = g.floats(
    'w_features',
    [HIDDEN_SIZE, FEATURES],
    normalArray(next, HIDDEN_SIZE * FEATURES, 1.5 / Math.sqrt(HIDDEN_SIZE)),
  );
  const features = g.node('Tanh', [
    g.node('Add', [
      g.node('MatMul', [pooled, projection]),
      g.floats('b_features', [FEATURES], normalArray(next, FEATURES, 0.5)),
    ]),
  ]);
  const s: Scene = { g, next, features };

  // Grid in units of half the shorter side, centred, so discs stay round at any aspect ratio.
  const shape = g.node('Shape', [sample]);
  const height = dimension(g, shape, 2);
  const width = dimension(g, shape, 3);
  const half = g.node('Mul', [g.node('Min', [height, width]), scalar(g, 0.5)]);
  const centred = (size: string, axis: 2 | 3) =>
    alongAxis(
      g,
      g.node('Div', [g.node('Sub', [pixelCentres(g, size), g.node('Mul', [size, scalar(g, 0.5)])]), half]),
      axis,
    );
  const u = centred(width, 3);
  const v = centred(height, 2);
  const mul = (a: string, b: string) => g.node('Mul', [a, b]);
  const add = (a: string, b: string) => g.node('Add', [a, b]);
  const sub = (a: string, b: string) => g.node('Sub', [a, b]);
  const lerp = (a: string, b: string, t: string) => add(a, mul(sub(b, a), t));

  // Palette: one hue per prompt; every element is a turn of it, plus the colour words' tint.
  const hue = free(s, 6);

  // Sky and ground on either side of a tilted, rolling horizon (ground: 0 in the sky, 1 below).
  const tilt = ranged(s, -0.35, 0.35);
  const hills = mul(g.node('Sin', [add(mul(u, ranged(s, 1, 7)), ranged(s, -Math.PI, Math.PI))]), ranged(s, 0, 0.25));
  const along = add(add(mul(v, g.node('Cos', [tilt])), mul(u, g.node('Sin', [tilt]))), hills);
  const ground = g.node('Sigmoid', [mul(sub(along, ranged(s, -0.5, 0.5)), ranged(s, 3, 30))]);
  // The sky fades from its zenith colour to a lighter one at the horizon.
  const zenith = colour(s, turned(s, hue, 0.5), [-0.4, 0.6], [0.4, 1.2], tint);
  const sky = lerp(
    zenith,
    colour(s, turned(s, hue, 0.8), [0.1, 1], [0.3, 1.1], tint),
    g.node('Sigmoid', [mul(v, scalar(g, 2))]),
  );
  let picture = lerp(sky, colour(s, turned(s, hue, 1.6), [-0.9, 0.3], [0.5, 1.3], tint), ground);

  // Ripples on the ground only: water, fields, dunes.
  const heading = ranged(s, -Math.PI, Math.PI);
  const phase = add(
    mul(add(mul(u, g.node('Cos', [heading])), mul(v, g.node('Sin', [heading]))), ranged(s, 4, 14)),
    ranged(s, -Math.PI, Math.PI),
  );
  const ripple = mul(mul(g.node('Sin', [phase]), ranged(s, 0, 0.5)), ground);
  picture = add(picture, mul(ripple, colour(s, turned(s, hue, Math.PI), [0, 0], [0.5, 1], scalar(g, 0))));

  for (let k = 0; k < DISCS; k++) {
    const dx = sub(u, ranged(s, -0.8, 0.8));
    const dy = sub(v, ranged(s, -0.8, 0.5));
    const distance = g.node('Sqrt', [add(mul(dx, dx), mul(dy, dy))]);
    const cover = mul(g.node('Sigmoid', [mul(sub(ranged(s, 0.08, 0.45), distance), scalar(g, EDGE))]), ranged(s, 0, 1));
    picture = lerp(picture, colour(s, turned(s, hue, Math.PI), [-0.6, 1.1], [0.6, 1.4], tint), cover);
  }
  const texture = lerp(ranged(s, 0, 1), ranged(s, 0, 1.5), ground);

  // Fade to the neutral gradient as the prompt empties (strength is 0 exactly for "").
  const neutral = lerp(
    g.floats('neutral_top', [1, 3, 1, 1], NEUTRAL_TOP),
    g.floats('neutral_bottom', [1, 3, 1, 1], NEUTRAL_BOTTOM),
    g.node('Mul', [g.node('Add', [v, scalar(g, 1)]), scalar(g, 0.5)]),
  );
  const colours = lerp(neutral, picture, strength);
  const layers = g.node('Concat', [colours, mul(texture, strength)], { axis: attr.int(1) });

  // Pre-tanh colours and texture -> latent, the inverse of what the VAE decoder reads.
  const toLatent = new Float32Array(16);
  for (let o = 0; o < 4; o++) {
    for (let i = 0; i < 4; i++) toLatent[o * 4 + i] = LATENT_BASIS[i][o] / (i < 3 ? COLOUR_GAIN : 1);
  }
  return g.node('Conv', [layers, g.floats('w_to_latent', [4, 4, 1, 1], toLatent)]);
}
