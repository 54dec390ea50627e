/**
 * The contract between the tiny UNet (which draws target latents) and the tiny VAE (which paints
 * them): three orthonormal latent directions carry pre-tanh R, G, B and the fourth carries how much
 * brush texture the decoder adds. The encoder can only see colour, so it recovers the first three.
 */

/** SD 1.x's VAE scaling factor: the pipeline hands the decoder latents / this. */
export const VAE_SCALING_FACTOR = 0.18215;

/** Rows: the R, G, B directions, then the texture direction (a 4x4 Hadamard matrix / 2, orthonormal). */
export const LATENT_BASIS: ReadonlyArray<readonly [number, number, number, number]> = [
  [0.5, 0.5, 0.5, 0.5],
  [0.5, -0.5, 0.5, -0.5],
  [0.5, 0.5, -0.5, -0.5],
  [0.5, -0.5, -0.5, 0.5],
];

/**
 * Pre-tanh colour per unit of scaled latent. Latents come out with std ~2 (SD's are ~1), which puts
 * an encoded image well above the noise image-to-image adds at low strength, so it survives.
 */
export const COLOUR_GAIN = 0.425;

/**
 * Colour vectors are squashed smoothly into a ball of this radius before tanh, so strongly
 * guided latents (CFG extrapolates far past the prompt's own target) stay colours, not clipping.
 */
export const COLOUR_RADIUS = 1.7;

/** Pre-tanh amplitude of the decoder's brush texture per unit of the texture latent. */
export const TEXTURE_GAIN = 0.08;
