import { z } from 'zod';
import { jobViewSchema, type JobStatus } from '../jobs/job-view';
import { JOB_TYPES } from '../jobs/job-contract';
import type { ModelKind } from '../models/model-manifest';

/**
 * Response bodies of the public API as zod schemas. Nothing parses responses with them: they are
 * the source of the OpenAPI document, and the types the handlers build where that is practical.
 */

const isoTime = z.iso.datetime();
const count = z.number().int().min(0);

export const errorResponseSchema = z
  .strictObject({
    error: z.strictObject({
      code: z.string().meta({
        description: 'Stable machine-readable code, e.g. `validation_error`, `not_found`, `job_not_succeeded`.',
        example: 'validation_error',
      }),
      message: z.string().meta({ description: 'What went wrong, for people.' }),
      details: z
        .array(
          z.strictObject({
            field: z.string().meta({ description: 'Dotted path of the field, e.g. `requests.1.width`.' }),
            message: z.string(),
          }),
        )
        .optional()
        .meta({ description: 'One entry per invalid field (422).' }),
    }),
  })
  .meta({ id: 'Error', description: 'Every error of the darkroom API.' });

export const jobSchema = jobViewSchema.meta({
  id: 'Job',
  description:
    'A job. `result` is present once it has succeeded, `error` once it has failed or was canceled; `step`/`steps` while a model with steps runs.',
});

export const batchViewSchema = z
  .strictObject({
    id: z.string(),
    type: z.literal('batch'),
    status: z
      .enum(['queued', 'running', 'succeeded', 'failed'] satisfies JobStatus[])
      .meta({ description: '`succeeded` when every job succeeded, `failed` when all finished and one did not.' }),
    total: z.number().int(),
    counts: z
      .strictObject({ queued: count, running: count, succeeded: count, failed: count, canceled: count })
      .meta({ description: 'Jobs in each status.' }),
    created_at: isoTime,
    jobs: z.array(jobSchema),
  })
  .meta({ id: 'Batch', description: 'A batch and each of its jobs.' });
export type BatchView = z.infer<typeof batchViewSchema>;

const MODEL_KINDS = ['classifier', 'generator', 'diffusion', 'image_to_image'] as const satisfies readonly ModelKind[];

export const modelSchema = z
  .strictObject({
    name: z.string(),
    kind: z.enum(MODEL_KINDS),
    description: z.string().optional(),
    demo: z.boolean().meta({
      description:
        "One of darkroom's own demo models (built by scripts/build-demo-models): it shows the pipeline works, not what a real model makes.",
    }),
    default: z.boolean().meta({
      description: 'Whether a request that names no model runs on this one, for one job type or more (`default_for`).',
    }),
    default_for: z.array(z.enum(JOB_TYPES)).meta({
      description:
        'The job types this model is the default of: DEFAULT_GENERATION_MODEL, DEFAULT_CLASSIFICATION_MODEL, DEFAULT_IMAGE_TO_IMAGE_MODEL, or when unset a real model before a demo.',
    }),
    max_batch_size: z.number().int(),
    job_type: z.enum(JOB_TYPES),
    image_to_image: z
      .boolean()
      .optional()
      .meta({ description: 'Diffusion models: whether they can start from an image.' }),
    input: z.record(z.string(), z.unknown()).optional(),
    output: z.record(z.string(), z.unknown()).optional(),
    parameters: z
      .record(z.string(), z.unknown())
      .meta({ description: 'Each request field the model accepts, with its range and default.' }),
    workers: z.number().int().min(0).meta({ description: 'Live workers that serve the model.' }),
    loaded: z.number().int().min(0).meta({ description: 'Live workers that hold it in memory now.' }),
    queued: z.number().int().min(0).meta({ description: 'Its jobs waiting for a worker.' }),
  })
  .meta({ id: 'Model' });

export const modelListSchema = z.strictObject({ models: z.array(modelSchema) }).meta({ id: 'ModelList' });

export const healthSchema = z.strictObject({ status: z.enum(['ok', 'ready']) }).meta({ id: 'Health' });

export const webhookSecretSchema = z
  .strictObject({
    secret: z.string().meta({
      description:
        "The secret this key's webhook deliveries are signed with (derived from the server's WEBHOOK_SECRET and the key's name).",
      example: 'whsec_2Jq8nX0bVf0hQm3kZy1w6sTt9uRr4eLdPcAoNiMgHjE',
    }),
    algorithm: z.literal('HMAC-SHA256').meta({
      description: 'The `v1` value of `Darkroom-Signature` is this HMAC, hex, of `<t>.<raw body>` keyed with `secret`.',
    }),
  })
  .meta({ id: 'WebhookSecret' });
