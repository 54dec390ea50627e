import { assertSameLength, elementwise } from './elementwise';
import { roundHalfEven, spacedTimesteps } from './noise-schedule';
import type { ResolvedSchedulerConfig } from './scheduler-config';
import {
  addVariancePreservingNoise,
  alphaAt,
  assertStepIndex,
  predictedOriginal,
  trainingAlphasCumprod,
  type Scheduler,
} from './scheduler';

/**
 * diffusers' DDIMScheduler with eta = 0 (deterministic) and use_clipped_model_output = false:
 * x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps, both predicted from the model output.
 */
export function createDdimScheduler(config: ResolvedSchedulerConfig, numInferenceSteps: number): Scheduler {
  const alphasCumprod = trainingAlphasCumprod(config);
  const T = config.numTrainTimesteps;
  const timesteps = spacedTimesteps(config.timestepSpacing, T, numInferenceSteps, config.stepsOffset).map(
    roundHalfEven,
  );
  // diffusers steps back by a fixed T // n, whatever the spacing, and past 0 uses the final alpha.
  const stride = Math.floor(T / numInferenceSteps);
  const finalAlphaCumprod = config.setAlphaToOne ? 1 : alphasCumprod[0];
  const range = config.clipSampleRange;

  return {
    name: 'ddim',
    timesteps,
    initNoiseSigma: 1,
    scaleModelInput(sample, stepIndex) {
      assertStepIndex(stepIndex, timesteps.length);
      return sample;
    },
    step(modelOutput, stepIndex, sample) {
      assertStepIndex(stepIndex, timesteps.length);
      assertSameLength('ddim step', modelOutput, sample);
      const t = timesteps[stepIndex];
      const prev = t - stride;
      const abar = alphaAt(alphasCumprod, t);
      const abarPrev = prev >= 0 ? alphaAt(alphasCumprod, prev) : finalAlphaCumprod;
      const signal = Math.sqrt(abar);
      const noise = Math.sqrt(1 - abar);
      return elementwise(sample.length, (i) => {
        const out = modelOutput[i];
        const x = sample[i];
        let x0 = predictedOriginal(config.predictionType, out, x, abar);
        const eps = config.predictionType === 'epsilon' ? out : signal * out + noise * x;
        // Clipping touches only x0: eps keeps the unclipped prediction (use_clipped_model_output).
        if (config.clipSample) x0 = Math.min(range, Math.max(-range, x0));
        return Math.sqrt(abarPrev) * x0 + Math.sqrt(1 - abarPrev) * eps;
      });
    },
    addNoise(original, noise, timestep) {
      return addVariancePreservingNoise(alphasCumprod, original, noise, timestep);
    },
  };
}
