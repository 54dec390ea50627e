/**
 * Stable Diffusion 1.x's training noise schedule ("scaled_linear"): betas evenly spaced in
 * square-root space, so the UNet's table matches what any SD scheduler computes from the config.
 */

export const NUM_TRAIN_TIMESTEPS = 1000;
export const BETA_START = 0.00085;
export const BETA_END = 0.012;

/** alphas_cumprod[t] = prod_{i<=t} (1 - beta_i), computed in float64. */
export function scaledLinearAlphasCumprod(
  steps = NUM_TRAIN_TIMESTEPS,
  betaStart = BETA_START,
  betaEnd = BETA_END,
): Float64Array {
  const from = Math.sqrt(betaStart);
  const to = Math.sqrt(betaEnd);
  const out = new Float64Array(steps);
  let product = 1;
  for (let t = 0; t < steps; t++) {
    const beta = (from + ((to - from) * t) / (steps - 1)) ** 2;
    product *= 1 - beta;
    out[t] = product;
  }
  return out;
}
