import { randomInt } from 'node:crypto';
import type { LimitSettings } from '../../config';
import { checkJobCost, generationCost } from '../../http/job-cost';
import type { GenerationParams } from '../../jobs/job-contract';
import { fieldError, type Field } from './model-kind';

/** Checks of request parameters that several model kinds share. */

/** Request fields only diffusion models take. */
export const DIFFUSION_FIELDS = ['negative_prompt', 'steps', 'guidance_scale', 'scheduler', 'strength'] as const;

/** 422 on the first of `fields` the request sets: the model does not take them. */
export function rejectFields(req: object, fields: readonly string[], modelName: string, path: Field): void {
  const given = fields.filter((f) => (req as Record<string, unknown>)[f] !== undefined);
  if (given.length)
    throw fieldError(
      'parameter_not_supported',
      [...path, given[0]],
      `model "${modelName}" does not take ${given.join(', ')}`,
    );
}

export function checkPrompt(prompt: string, limits: LimitSettings, path: Field): void {
  if (prompt.length > limits.maxPromptLength) {
    throw fieldError(
      'prompt_too_long',
      [...path, 'prompt'],
      `prompt has ${prompt.length} characters; the limit is ${limits.maxPromptLength}`,
    );
  }
}

// A seed is always recorded so a retried or repeated job reproduces the same bytes.
export const pickSeed = (seed: number | undefined): number => seed ?? randomInt(0, 2 ** 32 - 1);

/** The params, once their cost is within MAX_JOB_MEGAPIXEL_STEPS (every generation path, the OpenAI route included, resolves here). */
export function withinCost(params: GenerationParams, limits: LimitSettings, path: Field): GenerationParams {
  checkJobCost(generationCost(params), limits, path);
  return params;
}

/** The parameters a generation of any model starts from. */
export function generationCommon(
  req: { prompt?: string; n: number; seed?: number; output_format: GenerationParams['output_format'] },
  model: string,
  limits: LimitSettings,
  path: Field,
) {
  const prompt = req.prompt ?? '';
  checkPrompt(prompt, limits, path);
  return { model, prompt, n: req.n, seed: pickSeed(req.seed), output_format: req.output_format };
}
