import { z } from 'zod';
import type { BetaSchedule, TimestepSpacing } from './noise-schedule';

/**
 * A diffusers `scheduler_config.json`. Fields whose default differs between scheduler classes are
 * left optional here and filled by `resolveSchedulerConfig`, as diffusers' `from_config` does when
 * a config written for one class (SD 1.x ships PNDM's) is loaded into another.
 */

export type SchedulerName = 'euler' | 'euler_ancestral' | 'ddim' | 'lcm';
export const SCHEDULER_NAMES: readonly SchedulerName[] = ['euler', 'euler_ancestral', 'ddim', 'lcm'];

// Options that change the numerics in ways not implemented here: refuse them instead of ignoring.
const notSupported = (field: string) => z.literal(false, { error: `${field}: only false is supported` }).nullish();
const onlyValue = (field: string, value: string) =>
  z.literal(value, { error: `${field}: only "${value}" is supported` }).nullish();

export const schedulerConfigSchema = z.object({
  num_train_timesteps: z.number().int().min(2).max(100_000).default(1000),
  beta_start: z.number().positive().lt(1).optional(),
  beta_end: z.number().positive().lt(1).optional(),
  beta_schedule: z.enum(['linear', 'scaled_linear']).optional(),
  /** Explicit betas, one per training step; replaces beta_start/beta_end/beta_schedule. */
  trained_betas: z.array(z.number().positive().lt(1)).nullish(),
  prediction_type: z.enum(['epsilon', 'v_prediction']).default('epsilon'),
  timestep_spacing: z.enum(['leading', 'trailing', 'linspace']).optional(),
  steps_offset: z.number().int().min(0).default(0),
  /** DDIM/LCM: whether the step after the last one sees abar = 1 (else abar_0). */
  set_alpha_to_one: z.boolean().optional(),
  /** DDIM/LCM: clamp the predicted x0 to +-clip_sample_range. */
  clip_sample: z.boolean().optional(),
  clip_sample_range: z.number().positive().default(1),
  /** LCM: the step count of the distillation schedule the inference steps are taken from. */
  original_inference_steps: z.number().int().min(1).default(50),
  /** LCM: c_skip/c_out are evaluated at timestep * timestep_scaling. */
  timestep_scaling: z.number().positive().default(10),
  thresholding: notSupported('thresholding'),
  rescale_betas_zero_snr: notSupported('rescale_betas_zero_snr'),
  use_karras_sigmas: notSupported('use_karras_sigmas'),
  use_exponential_sigmas: notSupported('use_exponential_sigmas'),
  use_beta_sigmas: notSupported('use_beta_sigmas'),
  interpolation_type: onlyValue('interpolation_type', 'linear'),
  final_sigmas_type: onlyValue('final_sigmas_type', 'zero'),
  timestep_type: onlyValue('timestep_type', 'discrete'),
});
export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;

/** Every field a scheduler reads, with the defaults of the matching diffusers class applied. */
export interface ResolvedSchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  betaSchedule: BetaSchedule;
  trainedBetas: readonly number[] | null;
  predictionType: 'epsilon' | 'v_prediction';
  timestepSpacing: TimestepSpacing;
  stepsOffset: number;
  setAlphaToOne: boolean;
  clipSample: boolean;
  clipSampleRange: number;
  originalInferenceSteps: number;
  timestepScaling: number;
}

type ClassDefaults = Pick<
  ResolvedSchedulerConfig,
  'betaStart' | 'betaEnd' | 'betaSchedule' | 'timestepSpacing' | 'setAlphaToOne' | 'clipSample'
>;

// The __init__ defaults of EulerDiscrete-, EulerAncestralDiscrete-, DDIM- and LCMScheduler.
// (Euler ignores set_alpha_to_one and clip_sample; the values only fill the type.)
const DDPM_BETAS = { betaStart: 0.0001, betaEnd: 0.02, betaSchedule: 'linear' } as const;
const CLASS_DEFAULTS: Record<SchedulerName, ClassDefaults> = {
  euler: { ...DDPM_BETAS, timestepSpacing: 'linspace', setAlphaToOne: true, clipSample: false },
  euler_ancestral: { ...DDPM_BETAS, timestepSpacing: 'linspace', setAlphaToOne: true, clipSample: false },
  ddim: { ...DDPM_BETAS, timestepSpacing: 'leading', setAlphaToOne: true, clipSample: true },
  lcm: {
    betaStart: 0.00085,
    betaEnd: 0.012,
    betaSchedule: 'scaled_linear',
    timestepSpacing: 'leading',
    setAlphaToOne: true,
    clipSample: false,
  },
};

/** Validates a parsed scheduler_config.json; the error lists every bad field. */
export function parseSchedulerConfig(json: unknown): SchedulerConfig {
  const parsed = schedulerConfigSchema.safeParse(json);
  if (!parsed.success) throw new Error(`invalid scheduler config: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Fills what the config leaves out with the defaults of the diffusers class behind `name`. */
export function resolveSchedulerConfig(name: SchedulerName, config: SchedulerConfig): ResolvedSchedulerConfig {
  const defaults = CLASS_DEFAULTS[name];
  const trainedBetas = config.trained_betas ?? null;
  if (trainedBetas && trainedBetas.length !== config.num_train_timesteps) {
    const count = config.num_train_timesteps;
    throw new Error(`scheduler config: trained_betas has ${trainedBetas.length} values, not ${count}`);
  }
  return {
    numTrainTimesteps: config.num_train_timesteps,
    betaStart: config.beta_start ?? defaults.betaStart,
    betaEnd: config.beta_end ?? defaults.betaEnd,
    betaSchedule: config.beta_schedule ?? defaults.betaSchedule,
    trainedBetas,
    predictionType: config.prediction_type,
    timestepSpacing: config.timestep_spacing ?? defaults.timestepSpacing,
    stepsOffset: config.steps_offset,
    setAlphaToOne: config.set_alpha_to_one ?? defaults.setAlphaToOne,
    clipSample: config.clip_sample ?? defaults.clipSample,
    clipSampleRange: config.clip_sample_range,
    originalInferenceSteps: config.original_inference_steps,
    timestepScaling: config.timestep_scaling,
  };
}
