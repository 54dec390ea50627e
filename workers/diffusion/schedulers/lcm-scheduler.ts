import { assertSameLength, elementwise } from './elementwise';
import type { ResolvedSchedulerConfig } from './scheduler-config';
import {
  addVariancePreservingNoise,
  alphaAt,
  assertStepIndex,
  normalNoise,
  predictedOriginal,
  trainingAlphasCumprod,
  type Scheduler,
} from './scheduler';

// Consistency-model boundary condition: sigma_data of the LCM paper (diffusers hard-codes it too).
const SIGMA_DATA = 0.5;

/**
 * LCM inference timesteps: the distillation schedule k-1, 2k-1, .., T-1 (k = T // original
 * steps), reversed, sampled at floor(linspace(0, len, n, endpoint=false)) — e.g. 4 of 50:
 * 999, 759, 499, 259. timestep_spacing and steps_offset do not apply to LCM.
 */
export function lcmTimesteps(config: ResolvedSchedulerConfig, numInferenceSteps: number): number[] {
  const original = config.originalInferenceSteps;
  if (original > config.numTrainTimesteps) {
    throw new RangeError(`original_inference_steps ${original} exceeds num_train_timesteps`);
  }
  if (numInferenceSteps > original) {
    throw new RangeError(`lcm: ${numInferenceSteps} steps exceed original_inference_steps ${original}`);
  }
  const k = Math.floor(config.numTrainTimesteps / original);
  const descending = Array.from({ length: original }, (_, i) => (original - i) * k - 1);
  // i * (len / n) rather than (i * len) / n: the same float64 products numpy.linspace forms.
  const stride = original / numInferenceSteps;
  return Array.from({ length: numInferenceSteps }, (_, i) => descending[Math.floor(i * stride)]);
}

/** c_skip and c_out of the consistency parameterisation at a (scaled) discrete timestep. */
export function lcmBoundaryScalings(timestep: number, timestepScaling: number): { cSkip: number; cOut: number } {
  const scaled = timestep * timestepScaling;
  const denominator = scaled * scaled + SIGMA_DATA * SIGMA_DATA;
  return { cSkip: (SIGMA_DATA * SIGMA_DATA) / denominator, cOut: scaled / Math.sqrt(denominator) };
}

/**
 * diffusers' LCMScheduler: each step predicts x0 through the consistency boundary condition
 * (denoised = c_out x0 + c_skip x_t), then re-noises it to the next timestep with fresh noise;
 * the last step returns the denoised sample itself.
 */
export function createLcmScheduler(config: ResolvedSchedulerConfig, numInferenceSteps: number): Scheduler {
  const alphasCumprod = trainingAlphasCumprod(config);
  const timesteps = lcmTimesteps(config, numInferenceSteps);
  const range = config.clipSampleRange;

  return {
    name: 'lcm',
    timesteps,
    initNoiseSigma: 1,
    scaleModelInput(sample, stepIndex) {
      assertStepIndex(stepIndex, timesteps.length);
      return sample;
    },
    step(modelOutput, stepIndex, sample, rng) {
      assertStepIndex(stepIndex, timesteps.length);
      assertSameLength('lcm step', modelOutput, sample);
      const t = timesteps[stepIndex];
      const abar = alphaAt(alphasCumprod, t);
      const { cSkip, cOut } = lcmBoundaryScalings(t, config.timestepScaling);
      const denoised = elementwise(sample.length, (i) => {
        let x0 = predictedOriginal(config.predictionType, modelOutput[i], sample[i], abar);
        if (config.clipSample) x0 = Math.min(range, Math.max(-range, x0));
        return cOut * x0 + cSkip * sample[i];
      });
      const isLast = stepIndex === timesteps.length - 1;
      if (isLast) return denoised;
      const abarPrev = alphaAt(alphasCumprod, timesteps[stepIndex + 1]);
      const noise = normalNoise(rng, sample.length, 'lcm');
      const signal = Math.sqrt(abarPrev);
      const scale = Math.sqrt(1 - abarPrev);
      return elementwise(sample.length, (i) => signal * denoised[i] + scale * noise[i]);
    },
    addNoise(original, noise, timestep) {
      return addVariancePreservingNoise(alphasCumprod, original, noise, timestep);
    },
  };
}
