import { z } from 'zod';
import type { AppError } from '../errors';
import { generationRequestSchema } from './request-schemas';

/** Bodies of the OpenAI-compatible `POST /v1/images/generations`, in OpenAI's field names. */

/** OpenAI's own image models: a client library's default, served by this server's default generation model. */
export const OPENAI_MODEL_NAME = /^(dall-e-\d|gpt-image-)/;

const generation = generationRequestSchema.shape;

export const openAiImageRequestSchema = z
  .strictObject({
    model: generation.model.meta({
      description:
        'A darkroom generator or diffusion model (see GET /v1/models). An OpenAI model name (`dall-e-2`, `gpt-image-1`, …) or none means the default generation model (`default_for` in GET /v1/models; DEFAULT_GENERATION_MODEL).',
      example: 'demo-diffusion',
    }),
    prompt: z.string().min(1, 'a prompt is required'),
    n: generation.n,
    size: z
      .string()
      .regex(/^(auto|\d{1,5}x\d{1,5})$/, 'size must be "WIDTHxHEIGHT" (e.g. "256x256") or "auto"')
      .optional()
      .meta({
        description:
          "`WIDTHxHEIGHT` in pixels, checked against the model like width and height; `auto` or none means the model's default.",
        example: '256x256',
      }),
    response_format: z.enum(['url', 'b64_json']).default('url').meta({
      description: '`url`: absolute URLs of `/v1/jobs/{id}/images/{index}`; `b64_json`: the image bytes in base64.',
    }),
    output_format: generation.output_format,
    quality: z.string().optional().meta({ description: 'Accepted and ignored.' }),
    style: z.string().optional().meta({ description: 'Accepted and ignored.' }),
    user: z.string().optional().meta({ description: 'Accepted and ignored.' }),
    seed: generation.seed,
    negative_prompt: generation.negative_prompt,
    steps: generation.steps,
    guidance_scale: generation.guidance_scale,
    scheduler: generation.scheduler,
  })
  .meta({
    id: 'OpenAIImageRequest',
    description:
      "OpenAI's image generation request. `seed` and the diffusion fields of GenerationRequest are darkroom extensions.",
  });
export type OpenAiImageRequest = z.infer<typeof openAiImageRequestSchema>;

export const openAiImagesResponseSchema = z
  .strictObject({
    created: z.number().int().meta({ description: 'Unix time (seconds) the images were made.' }),
    data: z.array(z.union([z.strictObject({ b64_json: z.string() }), z.strictObject({ url: z.url() })])),
  })
  .meta({ id: 'OpenAIImagesResponse' });
export type OpenAiImagesResponse = z.infer<typeof openAiImagesResponseSchema>;

export const openAiErrorSchema = z
  .strictObject({
    error: z.strictObject({
      message: z.string(),
      type: z.enum(['invalid_request_error', 'server_error']),
      param: z.string().nullable().meta({ description: 'The request field at fault, if one is.' }),
      code: z
        .string()
        .nullable()
        .meta({ description: "darkroom's stable error code; for a failed job, the job's error code." }),
    }),
  })
  .meta({
    id: 'OpenAIError',
    description: "Errors of the OpenAI-compatible route, in the shape OpenAI's client libraries parse.",
  });

/** An AppError in OpenAI's shape; `param` is the first invalid field (none for the body as a whole). */
export function openAiErrorBody(e: AppError): z.infer<typeof openAiErrorSchema> {
  const field: unknown = Array.isArray(e.details)
    ? (e.details[0] as { field?: unknown } | undefined)?.field
    : undefined;
  const param = typeof field === 'string' && field !== '(body)' ? field : null;
  return {
    error: {
      message: e.message,
      type: e.status >= 500 ? 'server_error' : 'invalid_request_error',
      param,
      code: e.code,
    },
  };
}
