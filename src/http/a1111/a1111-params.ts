import { AppError } from '../../errors';
import type { GenerationParams, ImageToImageParams } from '../../jobs/job-contract';
import type { AppDeps } from '../app-deps';
import { modelNameOf } from '../comfy/comfy-graph';
import { foldSeed } from '../comfy/comfy-seed';
import { resolveGenerationParams, resolveImageToImageParams } from '../job-params';
import { A1111_SCHEDULES, schedulerOf, type A1111Img2Img, type A1111Txt2Img } from './a1111-schemas';

/** AUTOMATIC1111 request fields as darkroom job parameters, checked like darkroom's own routes. */

const fieldError = (field: string, message: string) =>
  new AppError(422, 'validation_error', `${field}: ${message}`, [{ field, message }]);

/** A checkpoint as A1111 clients name it (its title: `name.safetensors [hash]`) to darkroom's model name. */
export const checkpointName = (title: string | undefined) => modelNameOf(title?.replace(/\s*\[[0-9a-f]+\]$/i, ''));

function commonFields(body: A1111Txt2Img | A1111Img2Img, model: string | undefined) {
  const sampler = body.sampler_name ?? body.sampler_index ?? undefined;
  const scheduler = schedulerOf(sampler);
  if (sampler && !scheduler)
    throw fieldError('sampler_name', `sampler "${sampler}" is not one of GET /sdapi/v1/samplers`);
  if (body.scheduler && !A1111_SCHEDULES.includes(body.scheduler))
    throw fieldError('scheduler', `schedule "${body.scheduler}" is not supported; darkroom's is Automatic`);
  return {
    model: checkpointName(body.override_settings?.sd_model_checkpoint) ?? model,
    prompt: body.prompt,
    negative_prompt: body.negative_prompt,
    n: body.batch_size * body.n_iter,
    width: body.width,
    height: body.height,
    seed: body.seed === -1 ? undefined : foldSeed(body.seed),
    steps: body.steps,
    guidance_scale: body.cfg_scale,
    scheduler,
    output_format: 'png' as const,
  };
}

export function txt2imgParams(body: A1111Txt2Img, model: string | undefined, deps: AppDeps): GenerationParams {
  const fields = commonFields(body, model);
  if (fields.n > 16) throw fieldError('batch_size', 'batch_size x n_iter must be at most 16');
  return resolveGenerationParams(fields, deps.catalog, deps.config.limits);
}

export function img2imgParams(body: A1111Img2Img, model: string | undefined, deps: AppDeps): ImageToImageParams {
  const fields = commonFields(body, model);
  if (fields.n > 16) throw fieldError('batch_size', 'batch_size x n_iter must be at most 16');
  return resolveImageToImageParams({ ...fields, strength: body.denoising_strength }, deps.catalog, deps.config.limits);
}
