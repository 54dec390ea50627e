import { assertSameLength, elementwise } from './elementwise';
import { interpolateAt, sigmaOf, spacedTimesteps } from './noise-schedule';
import type { ResolvedSchedulerConfig } from './scheduler-config';
import { assertStepIndex, normalNoise, trainingAlphasCumprod, type NormalRng, type Scheduler } from './scheduler';

/**
 * diffusers' EulerDiscreteScheduler (Karras et al. 2022, Algorithm 2 with s_churn = 0) and
 * EulerAncestralDiscreteScheduler. Both walk the variance-exploding parameterisation
 * x = x0 + sigma * eps, with sigma = sqrt((1 - abar) / abar); the model, trained on
 * x_t = x / sqrt(sigma^2 + 1), sees the sample through `scaleModelInput`.
 */

interface SigmaSchedule {
  timesteps: number[];
  /** sigmas[i] at timesteps[i], plus a final 0. */
  sigmas: number[];
  trainingSigmas: number[];
  initNoiseSigma: number;
}

function sigmaSchedule(config: ResolvedSchedulerConfig, numInferenceSteps: number): SigmaSchedule {
  const trainingSigmas = Array.from(trainingAlphasCumprod(config), sigmaOf);
  const timesteps = spacedTimesteps(
    config.timestepSpacing,
    config.numTrainTimesteps,
    numInferenceSteps,
    config.stepsOffset,
  );
  const sigmas = [...timesteps.map((t) => interpolateAt(trainingSigmas, t)), 0];
  const maxSigma = Math.max(...sigmas);
  // diffusers: with `leading` spacing the first timestep is below T-1, so the start latent is
  // given unit variance on top (sqrt(sigma^2 + 1)); `linspace`/`trailing` start at sigma_max.
  const initNoiseSigma = config.timestepSpacing === 'leading' ? Math.sqrt(maxSigma * maxSigma + 1) : maxSigma;
  return { timesteps, sigmas, trainingSigmas, initNoiseSigma };
}

/** x0 implied by the model output at noise level sigma (VE sample). */
function denoised(
  predictionType: ResolvedSchedulerConfig['predictionType'],
  out: number,
  x: number,
  sigma: number,
): number {
  if (predictionType === 'epsilon') return x - sigma * out;
  // v-prediction: c_out = -sigma / sqrt(sigma^2 + 1), c_skip = 1 / (sigma^2 + 1)
  return out * (-sigma / Math.sqrt(sigma * sigma + 1)) + x / (sigma * sigma + 1);
}

function createSigmaScheduler(
  name: 'euler' | 'euler_ancestral',
  config: ResolvedSchedulerConfig,
  numInferenceSteps: number,
  update: (x: number, x0: number, sigma: number, next: number, noise: number) => number,
): Scheduler {
  const { timesteps, sigmas, trainingSigmas, initNoiseSigma } = sigmaSchedule(config, numInferenceSteps);
  return {
    name,
    timesteps,
    initNoiseSigma,
    scaleModelInput(sample, stepIndex) {
      assertStepIndex(stepIndex, timesteps.length);
      const scale = 1 / Math.sqrt(sigmas[stepIndex] ** 2 + 1);
      return elementwise(sample.length, (i) => sample[i] * scale);
    },
    step(modelOutput, stepIndex, sample, rng?: NormalRng) {
      assertStepIndex(stepIndex, timesteps.length);
      assertSameLength(`${name} step`, modelOutput, sample);
      const sigma = sigmas[stepIndex];
      const next = sigmas[stepIndex + 1];
      const noise = name === 'euler_ancestral' ? normalNoise(rng, sample.length, name) : undefined;
      return elementwise(sample.length, (i) => {
        const x0 = denoised(config.predictionType, modelOutput[i], sample[i], sigma);
        return update(sample[i], x0, sigma, next, noise ? noise[i] : 0);
      });
    },
    addNoise(original, noise, timestep) {
      assertSameLength('addNoise', original, noise);
      const sigma = interpolateAt(trainingSigmas, timestep);
      return elementwise(original.length, (i) => original[i] + sigma * noise[i]);
    },
  };
}

/** Deterministic Euler: one first-order step of the probability-flow ODE dx/dsigma = (x - x0) / sigma. */
export function createEulerScheduler(config: ResolvedSchedulerConfig, numInferenceSteps: number): Scheduler {
  return createSigmaScheduler('euler', config, numInferenceSteps, (x, x0, sigma, next) => {
    const derivative = (x - x0) / sigma;
    return x + derivative * (next - sigma);
  });
}

/**
 * Euler ancestral: steps deterministically down to sigma_down, then adds fresh noise of
 * sigma_up, with sigma_down^2 + sigma_up^2 = sigma_next^2 (k-diffusion's get_ancestral_step, eta 1).
 */
export function createEulerAncestralScheduler(config: ResolvedSchedulerConfig, numInferenceSteps: number): Scheduler {
  return createSigmaScheduler('euler_ancestral', config, numInferenceSteps, (x, x0, sigma, next, noise) => {
    const sigmaUp = Math.sqrt((next * next * (sigma * sigma - next * next)) / (sigma * sigma));
    // Equal to next^2 / sigma in exact arithmetic; max() keeps rounding from making it NaN.
    const sigmaDown = Math.sqrt(Math.max(0, next * next - sigmaUp * sigmaUp));
    const derivative = (x - x0) / sigma;
    return x + derivative * (sigmaDown - sigma) + noise * sigmaUp;
  });
}
