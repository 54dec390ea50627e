import { attr, createGraph, type GraphBuilder } from '../onnx-graph';
import { gaussian } from '../seeded-random';
import { dctMatrix, forwardDct, frequencies, inverseDct, type Dct2d } from './dct-graph';
import { alongAxis, dimension, scalar } from './graph-coordinates';
import { PRIOR_AMPLITUDE, PRIOR_F0, PRIOR_FLOOR, PRIOR_P, priorChannelRotation } from './latent-prior';
import { scaledLinearAlphasCumprod } from './noise-schedule';
import { patchModel } from './onnx-model-patches';
import { targetLatent } from './target-latent-graph';
import { HIDDEN_SIZE, MAX_LENGTH } from './text-encoder-graph';

/**
 * The tiny UNet is the exact optimal epsilon-predictor for a Gaussian data model around a
 * prompt-dependent mean mu(prompt) (see latent-prior.ts): every seed's noise becomes a different
 * sample of the prompt's scene, and image-to-image keeps what the prior lets it keep.
 */

const SEED = 0x0e7_0002;

/** Prior variance per rotated-DCT coefficient, [1, 4, height, width], for the sample's runtime size. */
function priorVariance(g: GraphBuilder, sample: string): string {
  const shape = g.node('Shape', [sample]);
  const [height, width] = [dimension(g, shape, 2), dimension(g, shape, 3)];
  const shorter = g.node('Min', [height, width]);
  const along = (size: string, axis: 2 | 3) =>
    alongAxis(g, g.node('Mul', [frequencies(g, size), g.node('Div', [shorter, size])]), axis);
  const [fy, fx] = [along(height, 2), along(width, 3)];
  const f2 = g.node('Add', [g.node('Mul', [fy, fy]), g.node('Mul', [fx, fx])]);
  const spectrum = g.node('Pow', [
    g.node('Add', [g.node('Mul', [f2, scalar(g, 1 / PRIOR_F0 ** 2)]), scalar(g, 1)]),
    scalar(g, -PRIOR_P),
  ]);
  const total = g.node('ReduceSum', [spectrum, g.int64s('axes', [2, 3])], { keepdims: attr.int(1) });
  const share = g.node('Div', [g.node('Mul', [spectrum, g.node('Mul', [height, width])]), total]);
  const amplitude = g.floats(
    'prior_amplitude2',
    [1, 4, 1, 1],
    PRIOR_AMPLITUDE.map((a) => a * a),
  );
  const floor = g.floats(
    'prior_floor2',
    [1, 4, 1, 1],
    PRIOR_FLOOR.map((a) => a * a),
  );
  return g.node('Add', [g.node('Mul', [share, amplitude]), floor]);
}

/** 1x1 conv weights [4, 4, 1, 1] applying the channel rotation (or its transpose, the inverse). */
function rotation(g: GraphBuilder, transpose: boolean): string {
  const rows = priorChannelRotation();
  const weights = rows.flatMap((row, o) => row.map((_, i) => (transpose ? rows[i][o] : rows[o][i])));
  return g.floats(transpose ? 'w_unrotate' : 'w_rotate', [4, 4, 1, 1], weights);
}

/** Serialized UNet: sample [batch,4,h,w], timestep int64 [batch], encoder_hidden_states -> out_sample. */
export function buildUnetModel(): Uint8Array {
  const g = createGraph('tiny_gaussian_denoiser_unet');
  const sample = g.input('sample', ['batch', 4, 'height', 'width']);
  const timestep = g.input('timestep', ['batch']);
  const context = g.input('encoder_hidden_states', ['batch', MAX_LENGTH, HIDDEN_SIZE]);
  const mean = targetLatent(g, gaussian(SEED), sample, context);

  const table = g.floats('alphas_cumprod', [1000], Float32Array.from(scaledLinearAlphasCumprod()));
  const alphaBar = g.node('Reshape', [g.node('Gather', [table, timestep]), g.int64s('shape', [-1, 1, 1, 1])]);
  const noiseVariance = g.node('Sub', [scalar(g, 1), alphaBar]);
  const residual = g.node('Sub', [sample, g.node('Mul', [g.node('Sqrt', [alphaBar]), mean])]);

  const shape = g.node('Shape', [sample]);
  const dct: Dct2d = {
    rows: dctMatrix(g, dimension(g, shape, 2)),
    columns: dctMatrix(g, dimension(g, shape, 3)),
  };
  const coefficients = forwardDct(g, dct, g.node('Conv', [residual, rotation(g, false)]));
  const variance = g.node('Add', [g.node('Mul', [alphaBar, priorVariance(g, sample)]), noiseVariance]);
  const scaled = g.node('Div', [g.node('Mul', [coefficients, g.node('Sqrt', [noiseVariance])]), variance]);
  const epsilon = g.node('Conv', [inverseDct(g, dct, scaled), rotation(g, true)], {}, 'out_sample');
  g.output(epsilon, ['batch', 4, 'height', 'width']);

  const bytes = g.serialize({
    opset: 17,
    producer: 'darkroom tiny-diffusion',
    docString: 'Exact epsilon-predictor for a Gaussian latent prior around a prompt-dependent mean',
  });
  return patchModel(bytes, { elementTypes: { timestep: 'int64' } });
}
