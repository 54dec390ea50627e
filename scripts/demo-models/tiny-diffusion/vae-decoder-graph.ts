import { attr, createGraph } from '../onnx-graph';
import { alongAxis, dimension, pixelCentres, scalar } from './graph-coordinates';
import { COLOUR_GAIN, COLOUR_RADIUS, LATENT_BASIS, TEXTURE_GAIN, VAE_SCALING_FACTOR } from './latent-colour-space';
import { patchModel } from './onnx-model-patches';

/**
 * The tiny VAE decoder: a 1x1 conv reads pre-tanh colour and texture amount from the latent, the
 * colour is squashed into a ball (see COLOUR_RADIUS), both are upsampled 8x bilinearly, a
 * diagonal brush texture is laid over, and tanh maps to -1..1. The texture has period 8 pixels,
 * so the encoder's 8x8 average pooling cancels it.
 */

/** Texture period in pixels: the VAE's downsampling factor, so pooling averages it away. */
const TEXTURE_PERIOD = 8;
const TEXTURE_TINT = [1, 0.9, 0.75];

/** The 1x1 conv weights latent -> pre-tanh RGB, [3, 4, 1, 1], for latents already divided by the scaling factor. */
export function latentToColour(): Float32Array {
  return Float32Array.from(
    LATENT_BASIS.slice(0, 3).flatMap((row) => row.map((x) => x * COLOUR_GAIN * VAE_SCALING_FACTOR)),
  );
}

/** Serialized decoder: latent_sample [batch,4,h,w] -> sample [batch,3,8h,8w] in -1..1. */
export function buildVaeDecoderModel(): Uint8Array {
  const g = createGraph('tiny_vae_decoder');
  const latent = g.input('latent_sample', ['batch', 4, 'height', 'width']);

  const colour = g.node('Conv', [latent, g.floats('w_colour', [3, 4, 1, 1], latentToColour())]);
  const squared = g.node('ReduceSumSquare', [colour], { axes: attr.ints([1]), keepdims: attr.int(1) });
  const squash = g.node('Pow', [
    g.node('Add', [g.node('Mul', [squared, scalar(g, 1 / COLOUR_RADIUS ** 2)]), scalar(g, 1)]),
    scalar(g, -0.5),
  ]);
  // tanh: guidance scales the texture latent too, and strokes must stay strokes.
  const texture = g.node('Tanh', [
    g.node('Conv', [
      latent,
      g.floats(
        'w_texture',
        [1, 4, 1, 1],
        LATENT_BASIS[3].map((x) => x * VAE_SCALING_FACTOR),
      ),
    ]),
  ]);
  const layers = g.node('Concat', [g.node('Mul', [colour, squash]), texture], { axis: attr.int(1) });
  const upsampled = g.node('Resize', [layers, '', g.floats('scales', [4], [1, 1, 8, 8])]);

  const slice = (from: number, to: number) =>
    g.node('Slice', [upsampled, g.int64s('starts', [from]), g.int64s('ends', [to]), g.int64s('axes', [1])]);
  const shape = g.node('Shape', [upsampled]);
  const phase = (axis: 2 | 3) =>
    alongAxis(
      g,
      g.node('Mul', [pixelCentres(g, dimension(g, shape, axis)), scalar(g, (2 * Math.PI) / TEXTURE_PERIOD)]),
      axis,
    );
  // Diagonal hatching: sin(2π(x + y)/8) sums to zero over every aligned 8-pixel row segment.
  const hatching = g.node('Sin', [g.node('Add', [phase(2), phase(3)])]);
  const strokes = g.node('Mul', [
    g.node('Mul', [slice(3, 4), hatching]),
    g.floats(
      'texture_tint',
      [1, 3, 1, 1],
      TEXTURE_TINT.map((x) => x * TEXTURE_GAIN),
    ),
  ]);
  const image = g.node('Tanh', [g.node('Add', [slice(0, 3), strokes])], {}, 'sample');
  g.output(image, ['batch', 3, 'image_height', 'image_width']);

  const bytes = g.serialize({
    opset: 17,
    producer: 'darkroom tiny-diffusion',
    docString: 'Tiny VAE decoder (colour latents, 8x bilinear, brush texture)',
  });
  return patchModel(bytes, { stringAttributes: { Resize: { mode: 'linear' } } });
}
