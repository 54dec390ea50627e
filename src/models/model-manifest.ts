import { z } from 'zod';

/**
 * The JSON manifest (`model.json`) that sits in a model's folder. Adding a model needs a manifest,
 * never code: everything the worker must know to feed and read the graph is declared here.
 * File paths are relative to the manifest's folder.
 */

const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, ".", "_", "-"');

/** How many requests the model runner may gather into one session.run. */
export const batchingSchema = z
  .object({
    /** 1 for graphs whose batch dimension is fixed. */
    max_batch_size: z.number().int().min(1).max(256).default(8),
    /** How long the first request of a batch waits for company. */
    max_queue_delay_ms: z.number().min(0).max(1000).default(4),
  })
  .prefault({});

const channelOrder = z.enum(['RGB', 'BGR']);
/** Resampling filters, as sharp names its kernels. */
const resizeFilter = z.enum(['nearest', 'linear', 'cubic', 'lanczos3']);

/** Turning a decoded sRGB image into the model's input tensor. */
export const imagePreprocessSchema = z.object({
  width: z.number().int().min(1).max(4096),
  height: z.number().int().min(1).max(4096),
  /**
   * `shorter_side_crop`: scale the shorter side to `resize_shorter_side`, centre-crop width x height.
   * `cover`: scale to cover width x height, centre-crop. `stretch`: ignore the aspect ratio.
   */
  resize: z.enum(['shorter_side_crop', 'cover', 'stretch']).default('stretch'),
  resize_shorter_side: z.number().int().min(1).optional(),
  /**
   * The filter the model was trained (or evaluated) with. Scores shift with it: torchvision and
   * PIL recipes mean `cubic`; `lanczos3` is sharp's default.
   */
  resize_filter: resizeFilter.default('lanczos3'),
  channel_order: channelOrder.default('RGB'),
  /** value = (pixel * scale - mean[c]) / std[c], in the model's channel order. */
  scale: z.number().default(1 / 255),
  mean: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]),
  std: z.tuple([z.number(), z.number(), z.number()]).default([1, 1, 1]),
  layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
  dtype: z.enum(['float32', 'float16']).default('float32'),
});
export type ImagePreprocess = z.infer<typeof imagePreprocessSchema>;

const labelsSchema = z.union([
  z.array(z.string()).min(1),
  z.object({
    file: z.string(),
    /** `lines`: one label per line. `synset`: "n01440764 tench, Tinca tinca" -> "tench". */
    format: z.enum(['lines', 'synset', 'json']).default('lines'),
  }),
]);

const baseFields = {
  name,
  description: z.string().default(''),
  /**
   * One of darkroom's own demo models (scripts/build-demo-models writes it): listed as a demo, and
   * never the default for a kind of job while a real model can do that job.
   */
  demo: z.boolean().optional(),
  batching: batchingSchema,
};

export const classifierManifestSchema = z.object({
  ...baseFields,
  kind: z.literal('classifier'),
  files: z.object({ model: z.string() }),
  inputs: z.object({ image: z.string() }),
  outputs: z.object({ scores: z.string() }),
  preprocess: imagePreprocessSchema,
  labels: labelsSchema,
  /** `softmax` when the graph returns logits, `none` when it already returns probabilities. */
  output_activation: z.enum(['softmax', 'sigmoid', 'none']).default('softmax'),
});

/** A text prompt turned into a fixed vector without a text encoder (demo models). */
const hashedPromptSchema = z.object({
  input: z.string(),
  encoding: z.literal('hashed_bag_of_words'),
  dim: z.number().int().min(1).max(4096),
});

export const generatorManifestSchema = z.object({
  ...baseFields,
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
    channel_order: channelOrder.default('RGB'),
    /** The graph's value range, mapped to 0..255. */
    range: z.tuple([z.number(), z.number()]).default([-1, 1]),
    layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
    /** Kernel used when the request asks for another size than the graph's. */
    resize_kernel: z.enum(['nearest', 'cubic', 'lanczos3']).default('lanczos3'),
    max_width: z.number().int().min(1).default(1024),
    max_height: z.number().int().min(1).default(1024),
  }),
});

/**
 * A text-to-image pipeline in the layout Hugging Face `optimum` exports (model_index.json,
 * text_encoder/, unet/, vae_decoder/, optional vae_encoder/, tokenizer/, scheduler/). Tensor
 * names, dtypes and scheduler settings are read from those files; this manifest only names the
 * model and sets request defaults and limits. A folder with model_index.json and no model.json
 * is served with these defaults under the folder's name.
 */
export const diffusionManifestSchema = z.object({
  ...baseFields,
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

/** Image -> image graphs (style transfer, super-resolution). */
export const imageToImageManifestSchema = z.object({
  ...baseFields,
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
    channel_order: channelOrder.default('RGB'),
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
    channel_order: channelOrder.default('RGB'),
    /** For fixed-size graphs: resize the output back to the input's aspect ratio (longer side kept). */
    restore_aspect: z.boolean().default(true),
  }),
});

export const modelManifestSchema = z.discriminatedUnion('kind', [
  classifierManifestSchema,
  generatorManifestSchema,
  diffusionManifestSchema,
  imageToImageManifestSchema,
]);

export type ModelManifest = z.infer<typeof modelManifestSchema>;
export type ClassifierManifest = z.infer<typeof classifierManifestSchema>;
export type GeneratorManifest = z.infer<typeof generatorManifestSchema>;
export type DiffusionManifest = z.infer<typeof diffusionManifestSchema>;
export type ImageToImageManifest = z.infer<typeof imageToImageManifestSchema>;
export type ModelKind = ModelManifest['kind'];

/** File name of a manifest inside a model folder. */
export const MANIFEST_FILE = 'model.json';
/** Marks an optimum-layout diffusion pipeline folder. */
export const PIPELINE_INDEX_FILE = 'model_index.json';
