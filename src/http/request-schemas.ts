import { z } from 'zod';
import { outputFormatSchema, schedulerNameSchema, WEBHOOK_EVENTS, webhookEventSchema } from '../jobs/job-contract';

/**
 * Request bodies of the public API. Limits that depend on config are checked by the handlers.
 * Every array has a maximum, which zod checks before it looks at any element: a body of millions of
 * entries is refused at the cost of reading its length. Where config sets a lower limit
 * (MAX_IMAGES_PER_REQUEST, MAX_BATCH_REQUESTS), the handler checks it before any other work.
 */

/** The most MAX_IMAGES_PER_REQUEST may be set to. */
const IMAGES_CEILING = 1024;
/** The most MAX_BATCH_REQUESTS may be set to. */
const BATCH_CEILING = 10_000;

const modelName = z
  .string()
  .min(1)
  .max(64)
  .meta({ description: 'A model of GET /v1/models; none means the default for this job type (`default_for` there).' });

/** Where to POST the job's events; the URL must reach a public address (checked again before each delivery). */
export const webhookRequestSchema = z
  .strictObject({
    url: z.url({ protocol: /^https?$/, error: 'an http or https URL is required' }).max(2048),
    events: z.array(webhookEventSchema).min(1).max(WEBHOOK_EVENTS.length).optional().meta({
      description:
        'Which events to send; default `succeeded`, `failed`, `canceled`. `progress` is sent at most once a second.',
    }),
  })
  .meta({
    id: 'WebhookRequest',
    description:
      "Each event POSTs the job (as GET /v1/jobs/{id} shows it), signed with the submitting key's secret (GET /v1/webhook-secret); see the README.",
  });
export type WebhookRequest = z.infer<typeof webhookRequestSchema>;

/** In a multipart form, the same object as a JSON string. */
const webhookFormField = z
  .string()
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON: {"url": "https://...", "events": [...]}' });
      return z.NEVER;
    }
  })
  .pipe(webhookRequestSchema)
  .meta({ description: 'The webhook as a JSON string: {"url": ..., "events": [...]}.' });

/** Fields only diffusion models accept. */
const diffusionFields = {
  negative_prompt: z.string().optional(),
  steps: z.number().int().min(1).max(500).optional(),
  guidance_scale: z.number().min(0).max(50).optional(),
  scheduler: schedulerNameSchema.optional(),
};

export const generationRequestSchema = z
  .strictObject({
    model: modelName.optional(),
    prompt: z.string().optional(),
    n: z.number().int().min(1).max(16).default(1),
    width: z.number().int().min(8).max(4096).optional(),
    height: z.number().int().min(8).max(4096).optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional(),
    output_format: outputFormatSchema.default('png'),
    ...diffusionFields,
    webhook: webhookRequestSchema.optional(),
  })
  .meta({
    id: 'GenerationRequest',
    description:
      "Text to image. Omitted fields take the model's defaults; diffusion-only fields are rejected by other models.",
  });
export type GenerationRequest = z.infer<typeof generationRequestSchema>;

/** A base64 string or a data URL carrying an image. */
export const base64ImageSchema = z.string().min(1, 'an image is required');

export const classificationRequestSchema = z
  .strictObject({
    images: z.array(base64ImageSchema).min(1, 'at least one image is required').max(IMAGES_CEILING),
    model: modelName.optional(),
    top_k: z.number().int().min(1).max(20).default(5),
    webhook: webhookRequestSchema.optional(),
  })
  .meta({ id: 'ClassificationRequest', description: 'Images as base64 strings or data URLs.' });
export type ClassificationRequest = z.infer<typeof classificationRequestSchema>;

/** Multipart form fields arrive as strings. */
export const classificationFormSchema = z.strictObject({
  model: modelName.optional(),
  top_k: z.coerce.number().int().min(1).max(20).default(5),
  webhook: webhookFormField.optional(),
});

const imageToImageFields = {
  model: modelName.optional(),
  prompt: z.string().optional(),
  strength: z.number().min(0).max(1).optional(),
  n: z.number().int().min(1).max(16).default(1),
  width: z.number().int().min(8).max(4096).optional(),
  height: z.number().int().min(8).max(4096).optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  output_format: outputFormatSchema.default('png'),
  ...diffusionFields,
  webhook: webhookRequestSchema.optional(),
};

/** JSON image-to-image request: the input image as base64 or a data URL. */
export const imageToImageRequestSchema = z
  .strictObject({ image: base64ImageSchema, ...imageToImageFields })
  .meta({ id: 'ImageToImageRequest' });
export type ImageToImageRequest = Omit<z.infer<typeof imageToImageRequestSchema>, 'image'>;

/** The same request as multipart form fields (strings); the image arrives as a file part. */
export const imageToImageFormSchema = z.strictObject({
  model: modelName.optional(),
  prompt: z.string().optional(),
  negative_prompt: z.string().optional(),
  strength: z.coerce.number().min(0).max(1).optional(),
  n: z.coerce.number().int().min(1).max(16).default(1),
  width: z.coerce.number().int().min(8).max(4096).optional(),
  height: z.coerce.number().int().min(8).max(4096).optional(),
  seed: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  steps: z.coerce.number().int().min(1).max(500).optional(),
  guidance_scale: z.coerce.number().min(0).max(50).optional(),
  scheduler: schedulerNameSchema.optional(),
  output_format: outputFormatSchema.default('png'),
  webhook: webhookFormField.optional(),
});

export const batchRequestSchema = z
  .strictObject({
    requests: z
      .array(
        z.discriminatedUnion('type', [
          generationRequestSchema.extend({ type: z.literal('generation') }),
          classificationRequestSchema.extend({ type: z.literal('classification') }),
        ]),
      )
      .min(1, 'at least one request is required')
      .max(BATCH_CEILING),
  })
  .meta({ id: 'BatchRequest' });
export type BatchRequest = z.infer<typeof batchRequestSchema>;
