import { z } from 'zod';

/** Manifest fields that several model kinds share; each kind's own fields live in `kinds/<kind>.ts`. */

export const modelNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lower-case letters, digits, ".", "_", "-"');

/** How many requests the model runner may gather into one session.run. */
export const batchingSchema = z
  .object({
    /** 1 for graphs whose batch dimension is fixed. */
    max_batch_size: z.number().int().min(1).max(256).default(8),
    /** How long the first request of a batch waits for company. */
    max_queue_delay_ms: z.number().min(0).max(1000).default(4),
  })
  .prefault({});

export const channelOrderSchema = z.enum(['RGB', 'BGR']);
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
  channel_order: channelOrderSchema.default('RGB'),
  /** value = (pixel * scale - mean[c]) / std[c], in the model's channel order. */
  scale: z.number().default(1 / 255),
  mean: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]),
  std: z.tuple([z.number(), z.number(), z.number()]).default([1, 1, 1]),
  layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
  dtype: z.enum(['float32', 'float16']).default('float32'),
});
export type ImagePreprocess = z.infer<typeof imagePreprocessSchema>;

/** Fields every manifest has, whatever its kind. */
export const baseManifestFields = {
  name: modelNameSchema,
  description: z.string().default(''),
  /**
   * One of darkroom's own demo models (scripts/build-demo-models writes it): listed as a demo, and
   * never the default for a kind of job while a real model can do that job.
   */
  demo: z.boolean().optional(),
  batching: batchingSchema,
  /** Memory the loaded model takes (RAM on CPU, device memory with CUDA); estimated from its files when absent. */
  memory_mb: z.number().positive().optional(),
};

/** File name of a manifest inside a model folder. */
export const MANIFEST_FILE = 'model.json';
/** Marks an optimum-layout diffusion pipeline folder. */
export const PIPELINE_INDEX_FILE = 'model_index.json';
