import { assertSameLength, elementwise } from './elementwise';
import { cumulativeAlphas, makeBetas } from './noise-schedule';
import type { ResolvedSchedulerConfig, SchedulerName } from './scheduler-config';

/** Draws one standard normal number; seeded by the caller so that a job is reproducible. */
export type NormalRng = () => number;

/**
 * One denoising schedule, fixed to a number of inference steps. Step `i` runs the model at
 * `timesteps[i]` on `scaleModelInput(sample, i)` and feeds its output to `step(..., i, sample)`.
 * Every function returns a new array (`scaleModelInput` may return its input when it is a no-op).
 */
export interface Scheduler {
  readonly name: SchedulerName;
  /** The timestep given to the model at each step, highest first (may be fractional for Euler). */
  readonly timesteps: readonly number[];
  /** Standard deviation of the initial latent noise: multiply N(0, 1) noise by it. */
  readonly initNoiseSigma: number;
  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array;
  /** The sample for step `stepIndex + 1`; `rng` is required by the stochastic schedulers. */
  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array, rng?: NormalRng): Float32Array;
  /** img2img: noises a clean latent to `timestep` (one of `timesteps`) in this scheduler's scale. */
  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array;
}

/** abar_t of the training schedule (trained_betas if given, else the beta schedule). */
export function trainingAlphasCumprod(config: ResolvedSchedulerConfig): Float64Array {
  const betas =
    config.trainedBetas ?? makeBetas(config.betaSchedule, config.betaStart, config.betaEnd, config.numTrainTimesteps);
  return cumulativeAlphas(betas);
}

/** Throws unless `stepIndex` addresses one of `count` steps. */
export function assertStepIndex(stepIndex: number, count: number): void {
  if (!Number.isInteger(stepIndex) || stepIndex < 0 || stepIndex >= count) {
    throw new RangeError(`step index ${stepIndex} is outside 0..${count - 1}`);
  }
}

/** abar at an integer training timestep. */
export function alphaAt(alphasCumprod: Float64Array, timestep: number): number {
  if (!Number.isInteger(timestep) || timestep < 0 || timestep >= alphasCumprod.length) {
    throw new RangeError(`timestep ${timestep} is not an integer in 0..${alphasCumprod.length - 1}`);
  }
  return alphasCumprod[timestep];
}

/**
 * The x0 a variance-preserving model output implies, for x_t = sqrt(abar) x0 + sqrt(1 - abar) eps:
 * epsilon: x0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar); v: x0 = sqrt(abar) x_t - sqrt(1 - abar) v.
 */
export function predictedOriginal(
  predictionType: ResolvedSchedulerConfig['predictionType'],
  modelOutput: number,
  sample: number,
  alphaCumprod: number,
): number {
  const signal = Math.sqrt(alphaCumprod);
  const noise = Math.sqrt(1 - alphaCumprod);
  return predictionType === 'epsilon' ? (sample - noise * modelOutput) / signal : signal * sample - noise * modelOutput;
}

/** diffusers' DDPM `add_noise`: sqrt(abar_t) x0 + sqrt(1 - abar_t) noise. */
export function addVariancePreservingNoise(
  alphasCumprod: Float64Array,
  original: Float32Array,
  noise: Float32Array,
  timestep: number,
): Float32Array {
  assertSameLength('addNoise', original, noise);
  const abar = alphaAt(alphasCumprod, timestep);
  const signal = Math.sqrt(abar);
  const scale = Math.sqrt(1 - abar);
  return elementwise(original.length, (i) => signal * original[i] + scale * noise[i]);
}

/** Draws `length` standard normal values into a Float32Array. */
export function normalNoise(rng: NormalRng | undefined, length: number, who: SchedulerName): Float32Array {
  if (!rng) throw new Error(`${who} scheduler: step needs a normal rng`);
  return elementwise(length, () => rng());
}
