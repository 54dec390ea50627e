import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * The contract between API and workers: queue names, job payloads and results. Payloads carry ids
 * and parameters only; image bytes live in the blob store. Workers re-validate what they take.
 */

export const JOB_TYPES = ['generation', 'classification', 'image_to_image'] as const;
export type JobType = (typeof JOB_TYPES)[number];
export const QUEUE_NAMES = ['generation', 'classification', 'image_to_image', 'batch'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** Job ids start with a prefix that names the queue holding them, then a random UUID. */
const ID_PREFIX: Record<QueueName, string> = {
  generation: 'gen',
  classification: 'cls',
  image_to_image: 'i2i',
  batch: 'bat',
};
const PREFIX_QUEUE = Object.fromEntries(Object.entries(ID_PREFIX).map(([q, p]) => [p, q])) as Record<string, QueueName>;
const ID_PATTERN = /^([a-z0-9]{3})_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. The time lets the API
 * tell an expired job (410) from one that never existed (404) without keeping anything per job.
 */
export function uuidv7(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A new unguessable job id for the given queue. */
export function newJobId(queue: QueueName, now = Date.now()): string {
  return `${ID_PREFIX[queue]}_${uuidv7(now)}`;
}

/** When a job id was made, for ids made by newJobId (UUIDv7); undefined for others. */
export function jobIdTime(id: string): number | undefined {
  const m = ID_PATTERN.exec(id);
  if (!m || m[2][14] !== '7') return undefined;
  return parseInt(m[2].slice(0, 8) + m[2].slice(9, 13), 16);
}

/** The queue a job id belongs to, or undefined when the id is not one of ours. */
export function queueOfJobId(id: string): QueueName | undefined {
  const m = ID_PATTERN.exec(id);
  return m ? PREFIX_QUEUE[m[1]] : undefined;
}

export const outputFormatSchema = z.enum(['png', 'webp', 'jpeg']);
export type OutputFormat = z.infer<typeof outputFormatSchema>;

export const schedulerNameSchema = z.enum(['euler', 'euler_ancestral', 'ddim', 'lcm']);

/** Settings only diffusion models take; the API fills in the model's defaults. */
export const diffusionParamsSchema = z.object({
  negative_prompt: z.string(),
  steps: z.number().int().min(1),
  guidance_scale: z.number().min(0),
  scheduler: schedulerNameSchema,
});
export type DiffusionParams = z.infer<typeof diffusionParamsSchema>;

/** Generation parameters after the API resolved defaults (model, size, seed). */
export const generationParamsSchema = z.object({
  model: z.string(),
  prompt: z.string().default(''),
  n: z.number().int().min(1),
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1),
  output_format: outputFormatSchema,
  ...diffusionParamsSchema.partial().shape,
});
export type GenerationParams = z.infer<typeof generationParamsSchema>;

/** Image-to-image parameters; diffusion models also take a prompt, strength and the diffusion settings. */
export const imageToImageParamsSchema = z.object({
  model: z.string(),
  n: z.number().int().min(1),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1),
  output_format: outputFormatSchema,
  prompt: z.string().optional(),
  strength: z.number().min(0).max(1).optional(),
  /** Output size for diffusion img2img (the input is resized to it). */
  width: z.number().int().min(1).optional(),
  height: z.number().int().min(1).optional(),
  ...diffusionParamsSchema.partial().shape,
});
export type ImageToImageParams = z.infer<typeof imageToImageParamsSchema>;

/**
 * The upload decoded by the API the way the job's model takes it (oriented, sRGB, resized and
 * cropped as its manifest says), as raw 8-bit pixels: the worker reads these and never decodes.
 */
export const stagedPixelsSchema = z.object({
  key: z.string(),
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  channels: z.union([z.literal(1), z.literal(3)]),
  /**
   * SHA-256 (hex) of the pixel bytes, taken by the API as it staged them, so a worker's result cache
   * keys on it instead of hashing every image again. Absent from jobs of older APIs.
   */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
export type StagedPixels = z.infer<typeof stagedPixelsSchema>;

/** An input image staged in the blob store by the API. */
export const stagedImageSchema = z.object({
  key: z.string(),
  /** Absent for jobs of older APIs and for models the API cannot prepare pixels for: the worker decodes `key`. */
  pixels: stagedPixelsSchema.optional(),
  bytes: z.number().int().min(0),
  width: z.number().int(),
  height: z.number().int(),
  format: z.string(),
  filename: z.string().optional(),
});
export type StagedImage = z.infer<typeof stagedImageSchema>;

export const classificationParamsSchema = z.object({
  model: z.string(),
  top_k: z.number().int().min(1),
});
export type ClassificationParams = z.infer<typeof classificationParamsSchema>;

/** The API key name (or `anonymous`) a job belongs to; only its owner can see or cancel it. */
const ownerField = { owner: z.string().optional() };

/** Job events a webhook can ask for; without `events`, the three final ones. */
export const WEBHOOK_EVENTS = ['running', 'progress', 'succeeded', 'failed', 'canceled'] as const;
export const webhookEventSchema = z.enum(WEBHOOK_EVENTS);
export type WebhookEvent = z.infer<typeof webhookEventSchema>;
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEvent[] = ['succeeded', 'failed', 'canceled'];

/** Where the job's events are POSTed (checked by the API, and again before each delivery). Holds no secret. */
export const jobWebhookSchema = z.object({ url: z.string(), events: z.array(webhookEventSchema).min(1) });
export type JobWebhook = z.infer<typeof jobWebhookSchema>;
const webhookField = { webhook: jobWebhookSchema.optional() };

export const generationPayloadSchema = z.object({
  ...ownerField,
  ...webhookField,
  type: z.literal('generation'),
  params: generationParamsSchema,
  /** The client chose the seed, so the same request may be answered from the result cache. */
  cacheable: z.boolean().optional(),
  request_id: z.string().optional(),
});
export const classificationPayloadSchema = z.object({
  ...ownerField,
  ...webhookField,
  type: z.literal('classification'),
  params: classificationParamsSchema,
  inputs: z.array(stagedImageSchema).min(1),
  request_id: z.string().optional(),
});
export const imageToImagePayloadSchema = z.object({
  ...ownerField,
  ...webhookField,
  type: z.literal('image_to_image'),
  params: imageToImageParamsSchema,
  cacheable: z.boolean().optional(),
  input: stagedImageSchema,
  request_id: z.string().optional(),
});
export const batchPayloadSchema = z.object({
  ...ownerField,
  type: z.literal('batch'),
  children: z.array(z.string()),
  request_id: z.string().optional(),
});
export const jobPayloadSchema = z.discriminatedUnion('type', [
  generationPayloadSchema,
  classificationPayloadSchema,
  imageToImagePayloadSchema,
  batchPayloadSchema,
]);
export type GenerationPayload = z.infer<typeof generationPayloadSchema>;
export type ClassificationPayload = z.infer<typeof classificationPayloadSchema>;
export type ImageToImagePayload = z.infer<typeof imageToImagePayloadSchema>;
export type BatchPayload = z.infer<typeof batchPayloadSchema>;
export type JobPayload = z.infer<typeof jobPayloadSchema>;

export const imageOutputSchema = z.object({
  index: z.number().int(),
  key: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  seed: z.number().int().optional(),
  content_type: z.string(),
  bytes: z.number().int(),
  /** Answered from the result cache instead of computed. */
  cached: z.boolean().optional(),
});
export type ImageOutput = z.infer<typeof imageOutputSchema>;

export const generationResultSchema = z.object({ images: z.array(imageOutputSchema), cached: z.boolean().optional() });
export type GenerationResult = z.infer<typeof generationResultSchema>;

export const predictionSchema = z.object({
  index: z.number().int(),
  labels: z.array(z.object({ label: z.string(), class_index: z.number().int(), score: z.number() })),
  cached: z.boolean().optional(),
});
export const classificationResultSchema = z.object({
  predictions: z.array(predictionSchema),
  cached: z.boolean().optional(),
});
export type ClassificationResult = z.infer<typeof classificationResultSchema>;

/** Progress a worker reports: fraction done, plus steps when the model has them. */
export const jobProgressSchema = z.object({
  value: z.number().min(0).max(1),
  step: z.number().int().optional(),
  steps: z.number().int().optional(),
});
export type JobProgress = z.infer<typeof jobProgressSchema>;

export const MIME_OF_FORMAT: Record<OutputFormat, string> = {
  png: 'image/png',
  webp: 'image/webp',
  jpeg: 'image/jpeg',
};
