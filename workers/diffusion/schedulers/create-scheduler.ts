import { createDdimScheduler } from './ddim-scheduler';
import { createEulerAncestralScheduler, createEulerScheduler } from './euler-scheduler';
import { createLcmScheduler } from './lcm-scheduler';
import { resolveSchedulerConfig, type SchedulerConfig, type SchedulerName } from './scheduler-config';
import type { Scheduler } from './scheduler';

/** A scheduler of the given kind for `numInferenceSteps` steps, driven by a parsed scheduler config. */
export function createScheduler(name: SchedulerName, config: SchedulerConfig, numInferenceSteps: number): Scheduler {
  const resolved = resolveSchedulerConfig(name, config);
  const maxSteps = resolved.numTrainTimesteps;
  if (!Number.isInteger(numInferenceSteps) || numInferenceSteps < 1 || numInferenceSteps > maxSteps) {
    throw new RangeError(`inference steps must be an integer in 1..${maxSteps}, got ${numInferenceSteps}`);
  }
  switch (name) {
    case 'euler':
      return createEulerScheduler(resolved, numInferenceSteps);
    case 'euler_ancestral':
      return createEulerAncestralScheduler(resolved, numInferenceSteps);
    case 'ddim':
      return createDdimScheduler(resolved, numInferenceSteps);
    case 'lcm':
      return createLcmScheduler(resolved, numInferenceSteps);
    default: {
      const unknown: never = name;
      throw new Error(`unknown scheduler ${String(unknown)}`);
    }
  }
}

/** Where img2img starts in a schedule, and the timestep its input latent is noised to. */
export interface Img2ImgStart {
  /** First step index to run; steps before it are skipped. */
  startIndex: number;
  /** The timesteps still to run (`timesteps.slice(startIndex)`). */
  timesteps: number[];
  /** Pass to `addNoise` for the initial latent: `timesteps[startIndex]`. */
  latentTimestep: number;
}

/**
 * diffusers' img2img `get_timesteps`: init = min(floor(steps * strength), steps), and the run
 * starts at step index steps - init, so strength 1 runs every step and 0.5 the second half.
 */
export function img2imgStart(timesteps: readonly number[], strength: number): Img2ImgStart {
  if (!(strength > 0 && strength <= 1)) throw new RangeError(`strength must be in (0, 1], got ${strength}`);
  const steps = timesteps.length;
  const initTimestep = Math.min(Math.floor(steps * strength), steps);
  const startIndex = Math.max(steps - initTimestep, 0);
  if (startIndex >= steps) {
    throw new RangeError(`strength ${strength} leaves no step of ${steps} to run; raise strength or steps`);
  }
  return { startIndex, timesteps: timesteps.slice(startIndex), latentTimestep: timesteps[startIndex] };
}
