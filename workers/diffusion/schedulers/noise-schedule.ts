/**
 * The discrete DDPM noise schedule that every scheduler here shares: betas, cumulative alpha
 * products, and diffusers' ways of picking inference timesteps from the training timesteps.
 * Computed in float64 (diffusers uses float32 tensors; the difference is below 1e-6 relative).
 */

export type BetaSchedule = 'linear' | 'scaled_linear';
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

/** numpy.linspace(start, stop, count): the last point is exactly `stop`; one point is `start`. */
export function linspace(start: number, stop: number, count: number): number[] {
  if (count === 1) return [start];
  const step = (stop - start) / (count - 1);
  return Array.from({ length: count }, (_, i) => (i === count - 1 ? stop : start + i * step));
}

/** numpy.round: halves go to the even neighbour (332.5 -> 332, 937.5 -> 938). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Betas of diffusers' `linear` and `scaled_linear` (linear in sqrt(beta)) schedules. */
export function makeBetas(schedule: BetaSchedule, betaStart: number, betaEnd: number, count: number): number[] {
  if (schedule === 'linear') return linspace(betaStart, betaEnd, count);
  return linspace(Math.sqrt(betaStart), Math.sqrt(betaEnd), count).map((b) => b * b);
}

/** alphas_cumprod[t] = prod_{s<=t} (1 - beta_s): the signal fraction abar_t at training step t. */
export function cumulativeAlphas(betas: readonly number[]): Float64Array {
  const out = new Float64Array(betas.length);
  let product = 1;
  betas.forEach((beta, t) => {
    product *= 1 - beta;
    out[t] = product;
  });
  return out;
}

/**
 * Inference timesteps, highest first, as diffusers' `set_timesteps` spaces them (Table 2 of
 * "Common Diffusion Noise Schedules and Sample Steps are Flawed"). `linspace` values may be
 * fractional; callers that need integers round them.
 */
export function spacedTimesteps(
  spacing: TimestepSpacing,
  numTrainTimesteps: number,
  numInferenceSteps: number,
  stepsOffset: number,
): number[] {
  const n = numInferenceSteps;
  switch (spacing) {
    case 'linspace':
      return linspace(0, numTrainTimesteps - 1, n).reverse();
    case 'leading': {
      const ratio = Math.floor(numTrainTimesteps / n);
      return Array.from({ length: n }, (_, i) => (n - 1 - i) * ratio + stepsOffset);
    }
    case 'trailing': {
      // numpy.arange(T, 0, -T/n) fills start + i * ((start + step) - start); mirror it bit for bit.
      // (numpy sometimes yields n + 1 values, the last one -1; diffusers keeps that, we take n.)
      const T = numTrainTimesteps;
      const delta = T + -T / n - T;
      return Array.from({ length: n }, (_, i) => roundHalfEven(T + i * delta) - 1);
    }
  }
}

/** numpy.interp over the integer grid 0..values.length-1, clamped at both ends. */
export function interpolateAt(values: ArrayLike<number>, position: number): number {
  const last = values.length - 1;
  if (position <= 0) return values[0];
  if (position >= last) return values[last];
  const low = Math.floor(position);
  const frac = position - low;
  return values[low] + frac * (values[low + 1] - values[low]);
}

/** The variance-exploding noise level of a training step: sigma = sqrt((1 - abar) / abar). */
export function sigmaOf(alphaCumprod: number): number {
  return Math.sqrt((1 - alphaCumprod) / alphaCumprod);
}
