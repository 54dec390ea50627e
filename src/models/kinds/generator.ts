import { z } from 'zod';
import { baseManifestFields, channelOrderSchema } from '../manifest-fields';
import { fieldError, requireFiles, type ModelKindSpec } from './model-kind';
import { DIFFUSION_FIELDS, generationCommon, rejectFields, withinCost } from './request-checks';

/** Latent generators (GANs, CPPNs): a seeded latent (and optionally a hashed prompt) in, an image out. */

/** A text prompt turned into a fixed vector without a text encoder (demo models). */
const hashedPromptSchema = z.object({
  input: z.string(),
  encoding: z.literal('hashed_bag_of_words'),
  dim: z.number().int().min(1).max(4096),
});

export const generatorManifestSchema = z.object({
  ...baseManifestFields,
  kind: z.literal('generator'),
  files: z.object({ model: z.string() }),
  inputs: z.object({ latent: z.string() }),
  outputs: z.object({ image: z.string() }),
  /** Latent shape without the batch dimension, and how it is sampled from the seed. */
  latent: z.object({
    shape: z.array(z.number().int().min(1)).min(1),
    distribution: z.enum(['normal', 'uniform']).default('normal'),
  }),
  prompt: hashedPromptSchema.optional(),
  output: z.object({
    width: z.number().int().min(1),
    height: z.number().int().min(1),
    channel_order: channelOrderSchema.default('RGB'),
    /** The graph's value range, mapped to 0..255. */
    range: z.tuple([z.number(), z.number()]).default([-1, 1]),
    layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
    /** Kernel used when the request asks for another size than the graph's. */
    resize_kernel: z.enum(['nearest', 'cubic', 'lanczos3']).default('lanczos3'),
    max_width: z.number().int().min(1).default(1024),
    max_height: z.number().int().min(1).default(1024),
  }),
});
export type GeneratorManifest = z.infer<typeof generatorManifestSchema>;

/** The generation parameters a model accepts, as `GET /v1/models` lists them. */
export const generationParameters = (
  prompt: boolean,
  width: number,
  height: number,
  maxWidth: number,
  maxHeight: number,
) => ({
  prompt: { accepted: prompt },
  n: { min: 1, max: 16, default: 1 },
  width: { min: 8, max: maxWidth, default: width },
  height: { min: 8, max: maxHeight, default: height },
  seed: { min: 0, max: 2 ** 32 - 1 },
  output_format: ['png', 'webp', 'jpeg'],
});

export const generatorKind: ModelKindSpec<GeneratorManifest> = {
  seedless: false,
  inspect: (manifest, dir, file) => requireFiles(manifest.files, dir, file),
  describe: ({ manifest: { prompt, output } }) => ({
    job_type: 'generation',
    parameters: generationParameters(Boolean(prompt), output.width, output.height, output.max_width, output.max_height),
  }),
  jobs: {
    generation: {
      defaultRank: 1,
      resolve(req, { manifest: model }, limits, path) {
        const common = generationCommon(req, model.name, limits, path);
        rejectFields(
          req,
          DIFFUSION_FIELDS.filter((f) => f !== 'strength'),
          model.name,
          path,
        );
        if (common.prompt.trim() && !model.prompt) {
          throw fieldError(
            'prompt_not_supported',
            [...path, 'prompt'],
            `model "${model.name}" is unconditional and takes no prompt`,
          );
        }
        const width = req.width ?? model.output.width;
        const height = req.height ?? model.output.height;
        for (const [field, value, max] of [
          ['width', width, model.output.max_width],
          ['height', height, model.output.max_height],
        ] as const) {
          if (value > max)
            throw fieldError(
              'size_out_of_range',
              [...path, field],
              `${field} must be at most ${max} for ${model.name}`,
            );
        }
        return withinCost({ ...common, width, height }, limits, path);
      },
    },
  },
};
