import { z } from 'zod';
import type { schedulerNameSchema } from '../../jobs/job-contract';

/**
 * AUTOMATIC1111's /sdapi/v1 request bodies (StableDiffusionProcessingTxt2Img / ...Img2Img in its
 * OpenAPI document) as darkroom reads them. Its clients send every field of the form, so fields
 * darkroom has no use for are accepted and ignored; those that would change the image in ways
 * darkroom cannot (hires fix, face restore, tiling, scripts, masks) are refused unless at their
 * defaults. Strings, lists and counts are bounded.
 */

type Scheduler = z.infer<typeof schedulerNameSchema>;

/** A1111's sampler names for darkroom's schedulers (its own lower-case names are accepted too). */
export const A1111_SAMPLERS: { name: string; scheduler: Scheduler; aliases: string[] }[] = [
  { name: 'Euler', scheduler: 'euler', aliases: ['k_euler', 'euler'] },
  { name: 'Euler a', scheduler: 'euler_ancestral', aliases: ['k_euler_a', 'k_euler_ancestral', 'euler_ancestral'] },
  { name: 'DDIM', scheduler: 'ddim', aliases: ['ddim'] },
  { name: 'LCM', scheduler: 'lcm', aliases: ['k_lcm', 'lcm'] },
];
/** A1111's noise schedules: darkroom's is its `Automatic` (the sampler's own). */
export const A1111_SCHEDULES = ['Automatic', 'automatic', 'Uniform', 'uniform'];

export function schedulerOf(sampler: string | undefined): Scheduler | undefined {
  if (!sampler) return undefined;
  const lower = sampler.toLowerCase();
  return A1111_SAMPLERS.find((s) => s.name.toLowerCase() === lower || s.aliases.includes(lower))?.scheduler;
}

const text = z.string().max(100_000);
const off = <T extends z.ZodType>(schema: T, message: string) =>
  schema
    .optional()
    .nullable()
    .refine((v) => !v, `${message} is not supported by darkroom`);

const common = {
  prompt: text.default(''),
  negative_prompt: text.default(''),
  styles: z.array(z.string().max(256)).max(0, 'styles are not supported by darkroom').optional().nullable(),
  seed: z
    .number()
    .int()
    .min(-1)
    .max(2 ** 64)
    .default(-1),
  sampler_name: z.string().max(64).optional().nullable(),
  sampler_index: z.string().max(64).optional().nullable(),
  scheduler: z.string().max(64).optional().nullable(),
  batch_size: z.number().int().min(1).max(16).default(1),
  n_iter: z.number().int().min(1).max(16).default(1),
  steps: z.number().int().min(1).max(500).default(20),
  cfg_scale: z.number().min(0).max(50).default(7),
  width: z.number().int().min(8).max(4096).default(512),
  height: z.number().int().min(8).max(4096).default(512),
  restore_faces: off(z.boolean(), 'restore_faces'),
  tiling: off(z.boolean(), 'tiling'),
  subseed_strength: z.number().max(0, 'subseed_strength is not supported by darkroom').optional().nullable(),
  override_settings: z
    .object({ sd_model_checkpoint: z.string().max(256).optional() })
    .catchall(z.unknown())
    .optional()
    .nullable(),
  script_name: off(z.string(), 'script_name'),
  alwayson_scripts: z
    .record(z.string(), z.unknown())
    .refine((r) => !Object.keys(r).length, 'alwayson_scripts are not supported by darkroom')
    .optional()
    .nullable(),
  send_images: z.boolean().default(true),
};

export const a1111Txt2ImgSchema = z
  .object({ ...common, enable_hr: off(z.boolean(), 'enable_hr (hires fix)') })
  .catchall(z.unknown())
  .meta({
    id: 'A1111Txt2ImgRequest',
    description: "AUTOMATIC1111's StableDiffusionProcessingTxt2Img (darkroom's subset).",
  });
export type A1111Txt2Img = z.infer<typeof a1111Txt2ImgSchema>;

export const a1111Img2ImgSchema = z
  .object({
    ...common,
    init_images: z
      .array(z.string().min(1))
      .min(1, 'init_images needs one image')
      .max(1, 'darkroom takes one init image'),
    denoising_strength: z.number().min(0).max(1).default(0.75),
    mask: off(z.string(), 'mask (inpainting)'),
  })
  .catchall(z.unknown())
  .meta({
    id: 'A1111Img2ImgRequest',
    description: "AUTOMATIC1111's StableDiffusionProcessingImg2Img (darkroom's subset).",
  });
export type A1111Img2Img = z.infer<typeof a1111Img2ImgSchema>;

export const a1111OptionsSchema = z
  .object({ sd_model_checkpoint: z.string().max(256).optional() })
  .catchall(z.unknown())
  .meta({ id: 'A1111Options', description: 'Only sd_model_checkpoint is kept (per key); other options are ignored.' });
