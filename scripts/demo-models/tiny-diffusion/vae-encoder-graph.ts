import { attr, createGraph } from '../onnx-graph';
import { scalar } from './graph-coordinates';
import { COLOUR_GAIN, COLOUR_RADIUS, LATENT_BASIS, VAE_SCALING_FACTOR } from './latent-colour-space';

/**
 * The tiny VAE encoder undoes the decoder where it can: 8x8 average pooling (which also cancels
 * the brush texture), atanh, un-squashing the colour ball, and the pseudo-inverse of the colour
 * conv. Its output is the latent mean the pipeline multiplies by the scaling factor; the texture
 * direction comes back as zero, so img2img keeps the input's colours and the UNet adds texture.
 */

// atanh(±0.995) ≈ ±3: pure black or white pixels stay finite.
const CLIP = 0.995;
// Never un-squash from the ball's very edge, where the inverse blows up.
const MAX_SQUASHED = 0.96;

/** Serialized encoder: sample [batch,3,H,W] in -1..1 -> latent_sample [batch,4,H/8,W/8]. */
export function buildVaeEncoderModel(): Uint8Array {
  const g = createGraph('tiny_vae_encoder');
  const image = g.input('sample', ['batch', 3, 'height', 'width']);

  const pooled = g.node('AveragePool', [image], { kernel_shape: attr.ints([8, 8]), strides: attr.ints([8, 8]) });
  const squashed = g.node('Atanh', [g.node('Clip', [pooled, scalar(g, -CLIP), scalar(g, CLIP)])]);
  const squared = g.node('ReduceSumSquare', [squashed], { axes: attr.ints([1]), keepdims: attr.int(1) });
  const fraction = g.node('Min', [
    g.node('Mul', [squared, scalar(g, 1 / COLOUR_RADIUS ** 2)]),
    scalar(g, MAX_SQUASHED),
  ]);
  const colour = g.node('Mul', [squashed, g.node('Pow', [g.node('Sub', [scalar(g, 1), fraction]), scalar(g, -0.5)])]);

  // The colour rows of LATENT_BASIS are orthonormal, so the pseudo-inverse is the scaled transpose.
  const inverse = new Float32Array(12);
  for (let o = 0; o < 4; o++)
    for (let i = 0; i < 3; i++) inverse[o * 3 + i] = LATENT_BASIS[i][o] / (COLOUR_GAIN * VAE_SCALING_FACTOR);
  const latent = g.node('Conv', [colour, g.floats('w_latent', [4, 3, 1, 1], inverse)], {}, 'latent_sample');
  g.output(latent, ['batch', 4, 'latent_height', 'latent_width']);

  return g.serialize({ opset: 17, producer: 'darkroom tiny-diffusion', docString: 'Tiny VAE encoder (latent mean)' });
}
