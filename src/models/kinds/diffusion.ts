import path from 'node:path';
import { z } from 'zod';
import type { LimitSettings } from '../../config';
import type { DiffusionParams } from '../../jobs/job-contract';
import { baseManifestFields } from '../manifest-fields';
import { fieldError, type Field, type KindEntry, type ModelKindSpec } from './model-kind';
import { readPipeline } from './pipeline-folder';
import { checkPrompt, generationCommon, pickSeed, withinCost } from './request-checks';
import { generationParameters } from './generator';

/**
 * A text-to-image pipeline in the layout Hugging Face `optimum` exports (model_index.json,
 * text_encoder/, unet/, vae_decoder/, optional vae_encoder/, tokenizer/, scheduler/). Tensor
 * names, dtypes and scheduler settings are read from those files; this manifest only names the
 * model and sets request defaults and limits. A folder with model_index.json and no model.json
 * is served with these defaults under the folder's name.
 */
export const diffusionManifestSchema = z.object({
  ...baseManifestFields,
  kind: z.literal('diffusion'),
  /** Folder holding model_index.json, relative to the manifest. */
  pipeline: z.string().default('.'),
  defaults: z
    .object({
      steps: z.number().int().min(1).max(500).default(20),
      guidance_scale: z.number().min(0).max(50).default(7.5),
      scheduler: z.enum(['euler', 'euler_ancestral', 'ddim', 'lcm']).default('euler'),
      /** Defaults to the UNet's sample_size x 8. */
      width: z.number().int().min(8).optional(),
      height: z.number().int().min(8).optional(),
    })
    .prefault({}),
  limits: z
    .object({
      max_width: z.number().int().min(8).default(1024),
      max_height: z.number().int().min(8).default(1024),
      max_steps: z.number().int().min(1).default(150),
    })
    .prefault({}),
});
export type DiffusionManifest = z.infer<typeof diffusionManifestSchema>;
type Entry = KindEntry<DiffusionManifest>;

/** Diffusion settings with the model's defaults filled in, within its limits. */
function resolveDiffusionParams(
  req: Partial<DiffusionParams>,
  manifest: DiffusionManifest,
  limits: LimitSettings,
  path: Field,
): DiffusionParams {
  const steps = req.steps ?? manifest.defaults.steps;
  if (steps > manifest.limits.max_steps)
    throw fieldError(
      'steps_out_of_range',
      [...path, 'steps'],
      `steps must be at most ${manifest.limits.max_steps} for ${manifest.name}`,
    );
  const negative = req.negative_prompt ?? '';
  if (negative.length > limits.maxPromptLength)
    throw fieldError(
      'prompt_too_long',
      [...path, 'negative_prompt'],
      `negative_prompt has ${negative.length} characters; the limit is ${limits.maxPromptLength}`,
    );
  return {
    negative_prompt: negative,
    steps,
    guidance_scale: req.guidance_scale ?? manifest.defaults.guidance_scale,
    scheduler: req.scheduler ?? manifest.defaults.scheduler,
  };
}

/** Width and height for a diffusion model: multiples of 8 within its limits. */
function resolveDiffusionSize(req: { width?: number; height?: number }, { manifest, pipeline }: Entry, path: Field) {
  const width = req.width ?? pipeline?.width ?? 512;
  const height = req.height ?? pipeline?.height ?? 512;
  for (const [field, value, max] of [
    ['width', width, manifest.limits.max_width],
    ['height', height, manifest.limits.max_height],
  ] as const) {
    if (value % 8 !== 0)
      throw fieldError(
        'size_not_multiple_of_8',
        [...path, field],
        `${field} must be a multiple of 8 for diffusion models (got ${value})`,
      );
    if (value > max)
      throw fieldError('size_out_of_range', [...path, field], `${field} must be at most ${max} for ${manifest.name}`);
  }
  return { width, height };
}

export const diffusionKind: ModelKindSpec<DiffusionManifest> = {
  seedless: false,
  inspect: (manifest, dir, file) => readPipeline(path.resolve(dir, manifest.pipeline), manifest.defaults, file),
  describe({ manifest: { defaults, limits }, pipeline }) {
    const img2img = pipeline?.hasVaeEncoder ?? false;
    const size = [pipeline?.width ?? 512, pipeline?.height ?? 512, limits.max_width, limits.max_height] as const;
    return {
      job_type: 'generation',
      image_to_image: img2img,
      parameters: {
        ...generationParameters(true, ...size),
        negative_prompt: { accepted: true },
        steps: { min: 1, max: limits.max_steps, default: defaults.steps },
        guidance_scale: { min: 0, max: 50, default: defaults.guidance_scale },
        scheduler: { values: ['euler', 'euler_ancestral', 'ddim', 'lcm'], default: defaults.scheduler },
        ...(img2img ? { strength: { min: 0, max: 1, default: 0.75 } } : {}),
      },
    };
  },
  jobs: {
    generation: {
      defaultRank: 0,
      resolve(req, entry, limits, path) {
        const common = generationCommon(req, entry.manifest.name, limits, path);
        const size = resolveDiffusionSize(req, entry, path);
        return withinCost(
          { ...common, ...size, ...resolveDiffusionParams(req, entry.manifest, limits, path) },
          limits,
          path,
        );
      },
    },
    image_to_image: {
      defaultRank: 1,
      resolve(req, entry, limits, path) {
        const { manifest: model } = entry;
        const common = { model: model.name, n: req.n, seed: pickSeed(req.seed), output_format: req.output_format };
        if (!entry.pipeline?.hasVaeEncoder)
          throw fieldError(
            'image_to_image_not_supported',
            [...path, 'model'],
            `diffusion model "${model.name}" has no vae_encoder, so it cannot start from an image`,
          );
        const prompt = req.prompt ?? '';
        checkPrompt(prompt, limits, path);
        const size = req.width || req.height ? resolveDiffusionSize(req, entry, path) : {};
        return {
          ...common,
          ...size,
          prompt,
          strength: req.strength ?? 0.75,
          ...resolveDiffusionParams(req, model, limits, path),
        };
      },
    },
  },
};
