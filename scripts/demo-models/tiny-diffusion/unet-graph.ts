import { createGraph } from '../onnx-graph';
import { gaussian } from '../seeded-random';
import { scaledLinearAlphasCumprod } from './noise-schedule';
import { patchModel } from './onnx-model-patches';
import { targetLatent } from './target-latent-graph';
import { HIDDEN_SIZE, MAX_LENGTH } from './text-encoder-graph';

/**
 * The tiny UNet is an exact epsilon-predictor for one clean latent per prompt, x0(prompt):
 * eps = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t). A correct sampler therefore lands on x0
 * (or, with guidance, on the guided mix of x0s) exactly, which makes pipeline bugs visible.
 */

const SEED = 0x0e7_0002;

/** Serialized UNet: sample [batch,4,h,w], timestep int64 [batch], encoder_hidden_states -> out_sample. */
export function buildUnetModel(): Uint8Array {
  const g = createGraph('tiny_exact_denoiser_unet');
  const sample = g.input('sample', ['batch', 4, 'height', 'width']);
  const timestep = g.input('timestep', ['batch']);
  const context = g.input('encoder_hidden_states', ['batch', MAX_LENGTH, HIDDEN_SIZE]);
  const x0 = targetLatent(g, gaussian(SEED), sample, context);

  const table = g.floats('alphas_cumprod', [1000], Float32Array.from(scaledLinearAlphasCumprod()));
  const alphaBar = g.node('Reshape', [g.node('Gather', [table, timestep]), g.int64s('shape', [-1, 1, 1, 1])]);
  const signal = g.node('Mul', [g.node('Sqrt', [alphaBar]), x0]);
  const noiseScale = g.node('Sqrt', [g.node('Sub', [g.floats('one', [], [1]), alphaBar])]);
  const epsilon = g.node('Div', [g.node('Sub', [sample, signal]), noiseScale], {}, 'out_sample');
  g.output(epsilon, ['batch', 4, 'height', 'width']);

  const bytes = g.serialize({
    opset: 17,
    producer: 'darkroom tiny-diffusion',
    docString: 'Exact denoiser for a prompt-dependent target latent',
  });
  return patchModel(bytes, { elementTypes: { timestep: 'int64' } });
}
