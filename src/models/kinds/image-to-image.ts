import { z } from 'zod';
import type { LimitSettings } from '../../config';
import type { DecodeOptions } from '../../imaging/image-codec';
import { baseManifestFields, channelOrderSchema } from '../manifest-fields';
import { fieldError, requireFiles, type ModelKindSpec } from './model-kind';
import { DIFFUSION_FIELDS, pickSeed, rejectFields } from './request-checks';

/** Image -> image graphs (style transfer, super-resolution). */

export const imageToImageManifestSchema = z.object({
  ...baseManifestFields,
  kind: z.literal('image_to_image'),
  files: z.object({ model: z.string() }),
  inputs: z.object({ image: z.string() }),
  outputs: z.object({ image: z.string() }),
  preprocess: z.object({
    /** `rgb`: three channels in channel_order. `luma`: the BT.601 Y channel only (chroma is upscaled separately). */
    color: z.enum(['rgb', 'luma']).default('rgb'),
    /** A fixed input size the graph requires; absent means any size. */
    width: z.number().int().min(1).optional(),
    height: z.number().int().min(1).optional(),
    resize: z.enum(['stretch', 'cover']).default('stretch'),
    channel_order: channelOrderSchema.default('RGB'),
    scale: z.number().default(1 / 255),
    mean: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]),
    std: z.tuple([z.number(), z.number(), z.number()]).default([1, 1, 1]),
    /** Largest input accepted (width x height), so the output stays within memory. */
    max_input_pixels: z.number().int().min(1).default(1_048_576),
  }),
  output: z.object({
    /** Output size relative to the graph's input (3 for a 3x super-resolution model). */
    scale_factor: z.number().int().min(1).max(16).default(1),
    /** The graph's value range, mapped to 0..255 and clamped. */
    range: z.tuple([z.number(), z.number()]).default([0, 1]),
    channel_order: channelOrderSchema.default('RGB'),
    /** For fixed-size graphs: resize the output back to the input's aspect ratio (longer side kept). */
    restore_aspect: z.boolean().default(true),
  }),
});
export type ImageToImageManifest = z.infer<typeof imageToImageManifestSchema>;

/**
 * An upload as the graph takes it: at its fixed size when it has one, else as it is. An image over
 * the model's own pixel limit gets no pixels; its job fails as image_too_large in the worker.
 */
export function imageToImageInputDecode(
  { preprocess: pre }: ImageToImageManifest,
  limits: Pick<LimitSettings, 'maxImagePixels'>,
): DecodeOptions {
  return {
    maxPixels: Math.min(limits.maxImagePixels, pre.max_input_pixels),
    ...(pre.width && pre.height && { width: pre.width, height: pre.height, fit: pre.resize }),
  };
}

export const imageToImageKind: ModelKindSpec<ImageToImageManifest> = {
  // A graph model is deterministic: the same image gives the same output.
  seedless: true,
  inspect: (manifest, dir, file) => requireFiles(manifest.files, dir, file),
  describe: ({ manifest: { preprocess, output } }) => ({
    job_type: 'image_to_image',
    input: {
      width: preprocess.width ?? 'any',
      height: preprocess.height ?? 'any',
      color: preprocess.color,
      max_pixels: preprocess.max_input_pixels,
    },
    output: { scale_factor: output.scale_factor },
    parameters: { output_format: ['png', 'webp', 'jpeg'] },
  }),
  inputDecode: imageToImageInputDecode,
  jobs: {
    image_to_image: {
      defaultRank: 0,
      resolve(req, { manifest: model }, _limits, path) {
        const common = { model: model.name, n: req.n, seed: pickSeed(req.seed), output_format: req.output_format };
        rejectFields(req, [...DIFFUSION_FIELDS, 'prompt', 'width', 'height'], model.name, path);
        // One output per input: more would be the same image again.
        if (req.n > 1)
          throw fieldError(
            'parameter_not_supported',
            [...path, 'n'],
            `model "${model.name}" makes one output per input; n must be 1`,
          );
        return common;
      },
    },
  },
};
