import {
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { COMPAT_ROUTES } from './compat-routes';
import { openAiErrorSchema, openAiImageRequestSchema, openAiImagesResponseSchema } from '../openai-schemas';
import {
  batchRequestSchema,
  classificationFormSchema,
  classificationRequestSchema,
  generationRequestSchema,
  imageToImageFormSchema,
  imageToImageRequestSchema,
} from '../request-schemas';
import {
  batchViewSchema,
  errorResponseSchema,
  healthSchema,
  jobSchema,
  modelListSchema,
  webhookSecretSchema,
} from '../response-schemas';

/**
 * The OpenAPI 3.1 document, generated from the zod schemas the handlers validate with (request
 * bodies) and the ones their responses are typed by. Paths are listed here, one entry per route.
 */

type Content = NonNullable<ResponseConfig['content']>;

const json = (schema: z.ZodType): Content => ({ 'application/json': { schema } });
const binary = { type: 'string', format: 'binary' } as const;
const binaryContent = (...types: string[]): Content => Object.fromEntries(types.map((t) => [t, { schema: binary }]));

const ERROR_TEXT: Record<number, string> = {
  400: 'Malformed JSON or multipart body, or JSON nested deeper than MAX_JSON_DEPTH (`json_too_deep`).',
  404: 'No such job or batch (or it has expired).',
  409: 'The job or batch is not in a state that allows this (e.g. results before it has succeeded).',
  413: 'The body, an image or the batch is larger than the server accepts.',
  415: 'A body of a type the route does not read (`unsupported_media_type` names the ones it does), or an image in a format the server cannot read.',
  422: 'Invalid fields; `details` names each one.',
  429: 'A per-key rate limit or quota was reached (`rate_limited`, `too_many_jobs_in_flight`, or `too_many_streams`: MAX_OPEN_STREAMS_PER_KEY open event streams and waiting requests); retry after the `Retry-After` seconds.',
  500: 'An internal error.',
  503: 'Redis (the job store) is unreachable; retry after the `Retry-After` seconds.',
};

const errors = (...statuses: number[]): Record<number, ResponseConfig> =>
  Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: ERROR_TEXT[s],
        content: json(errorResponseSchema),
        ...(s === 503 || s === 429
          ? { headers: { 'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' } } } }
          : {}),
      },
    ]),
  );

const accepted = (what: 'job' | 'batch'): ResponseConfig => ({
  description: `Queued; the body is the ${what} as it is now.`,
  headers: {
    Location: {
      description: `Where to poll the ${what}.`,
      schema: {
        type: 'string',
        example:
          what === 'job'
            ? '/v1/jobs/gen_8e0c1a9e-4a4b-4f57-9a0e-1f9b2c6d7e80'
            : '/v1/batches/bat_0b7f5e2a-93c1-4d0e-8f4b-6a2d9c1e7b35',
      },
    },
  },
  content: json(what === 'job' ? jobSchema : batchViewSchema),
});

/** With `Prefer: wait=N` the submission answers 200 once its job (or batch) has finished within N seconds. */
const finished = (what: 'job' | 'batch'): ResponseConfig => ({
  description: `With \`Prefer: wait=N\`: the ${what} finished within N seconds (capped by MAX_PREFER_WAIT_SECONDS); the body is the finished ${what}. Otherwise the answer is the usual 202.`,
  headers: {
    'Preference-Applied': {
      description: 'The wait that applied, e.g. `wait=30`.',
      schema: { type: 'string', example: 'wait=30' },
    },
  },
  content: json(what === 'job' ? jobSchema : batchViewSchema),
});
const preferHeaders = z.object({
  Prefer: z.string().optional().meta({
    description:
      '`wait=N`: hold the request up to N seconds and answer 200 with the finished job, or 202 if it is not done by then (RFC 7240).',
    example: 'wait=30',
  }),
});

const jobId = z.object({
  id: z.string().meta({
    description: 'A job id: a queue prefix (`gen_`, `cls_`, `i2i_`) and a UUID.',
    example: 'gen_8e0c1a9e-4a4b-4f57-9a0e-1f9b2c6d7e80',
  }),
});
const batchId = z.object({
  id: z
    .string()
    .meta({ description: 'A batch id (`bat_` and a UUID).', example: 'bat_8e0c1a9e-4a4b-4f57-9a0e-1f9b2c6d7e80' }),
});
const imageParams = jobId.extend({
  index: z.string().regex(/^\d+$/).meta({ description: 'The image index, from 0.', example: '0' }),
});

const fileField = z.string().meta({ format: 'binary' });
const classificationForm = classificationFormSchema
  .extend({ image: z.array(fileField).min(1).meta({ description: 'One part per image (repeat the field).' }) })
  .meta({ id: 'ClassificationForm' });
const imageToImageForm = imageToImageFormSchema
  .extend({ image: fileField.meta({ description: 'The input image.' }) })
  .meta({ id: 'ImageToImageForm' });
const imageEncoding = { image: { contentType: 'image/*' } };

const OPENAI_ERROR_TEXT: Record<number, string> = {
  409: 'The job was canceled while the request waited.',
  422: 'Invalid fields; `param` names the first.',
  500: 'The job failed (`code` is its error code), or an internal error.',
};

/** Errors of the OpenAI-compatible route, in OpenAI's shape. */
const openAiErrors = (...statuses: number[]): Record<number, ResponseConfig> =>
  Object.fromEntries(
    statuses.map((s) => [s, { description: OPENAI_ERROR_TEXT[s] ?? ERROR_TEXT[s], content: json(openAiErrorSchema) }]),
  );

/** A POST that validates a body and enqueues one job. */
const submit = (urlPath: string, operationId: string, summary: string, content: Content): RouteConfig => ({
  method: 'post',
  path: urlPath,
  tags: ['jobs'],
  operationId,
  summary,
  request: { body: { required: true, content }, headers: preferHeaders },
  responses: { 200: finished('job'), 202: accepted('job'), ...errors(400, 413, 415, 422, 503) },
});

const ROUTES: RouteConfig[] = [
  {
    method: 'get',
    path: '/healthz',
    tags: ['service'],
    operationId: 'health',
    summary: 'The process is alive.',
    responses: { 200: { description: 'Alive.', content: json(healthSchema) } },
  },
  {
    method: 'get',
    path: '/readyz',
    tags: ['service'],
    operationId: 'ready',
    summary: 'Redis answers.',
    responses: {
      200: { description: 'Ready.', content: json(healthSchema) },
      503: { description: 'Redis does not answer.', content: json(errorResponseSchema) },
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    tags: ['service'],
    operationId: 'openApiDocument',
    summary: 'This document.',
    responses: {
      200: { description: 'OpenAPI 3.1.', content: { 'application/json': { schema: { type: 'object' } } } },
    },
  },
  {
    method: 'get',
    path: '/docs',
    tags: ['service'],
    operationId: 'docsPage',
    summary: 'Interactive documentation of this document.',
    responses: { 200: { description: 'An HTML page.', content: { 'text/html': { schema: { type: 'string' } } } } },
  },
  {
    method: 'get',
    path: '/v1/models',
    tags: ['models'],
    operationId: 'listModels',
    summary: 'Every loaded model, whether it is a demo and a default, and the parameters it accepts.',
    description:
      'A request that names no model runs on the model whose `default_for` lists its job type: DEFAULT_GENERATION_MODEL, DEFAULT_CLASSIFICATION_MODEL or DEFAULT_IMAGE_TO_IMAGE_MODEL when set, else a real model before a demo.',
    responses: { 200: { description: 'The models.', content: json(modelListSchema) }, ...errors(503) },
  },
  submit(
    '/v1/generations',
    'createGeneration',
    'Generate images from a prompt (a generation job).',
    json(generationRequestSchema),
  ),
  submit(
    '/v1/classifications',
    'createClassification',
    'Classify images (a classification job): multipart image parts, or JSON with base64 images.',
    {
      'multipart/form-data': { schema: classificationForm, encoding: imageEncoding },
      ...json(classificationRequestSchema),
    },
  ),
  submit(
    '/v1/image-to-image',
    'createImageToImage',
    'Turn one image into new ones (an image_to_image job): a multipart image part, or JSON with a base64 image.',
    {
      'multipart/form-data': { schema: imageToImageForm, encoding: imageEncoding },
      ...json(imageToImageRequestSchema),
    },
  ),
  {
    method: 'get',
    path: '/v1/jobs/{id}',
    tags: ['jobs'],
    operationId: 'getJob',
    summary: 'A job: status, progress, result or error.',
    request: { params: jobId },
    responses: { 200: { description: 'The job.', content: json(jobSchema) }, ...errors(404, 503) },
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}/events',
    tags: ['jobs'],
    operationId: 'streamJobEvents',
    summary: "The job's status changes, progress and final state as server-sent events.",
    description:
      'Events: `status` (`{ status }`) on each change, `progress` (`{ value, step?, steps? }`), and `job` (the whole job) once it has finished, after which the stream ends; a finished job gets its `job` event at once. ' +
      'Event ids are Redis stream ids: reconnect with `Last-Event-ID` to be sent only the events missed (204 if the job had finished and nothing was missed). Comment lines keep an idle stream open.',
    request: {
      params: jobId,
      headers: z.object({
        'Last-Event-ID': z
          .string()
          .optional()
          .meta({ description: 'The id of the last event received.', example: '1767225600000-3' }),
      }),
    },
    responses: {
      200: {
        description: 'A stream of server-sent events.',
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      },
      204: { description: 'Reconnected after the final event: nothing more will come.' },
      ...errors(404, 429, 503),
    },
  },
  {
    method: 'delete',
    path: '/v1/jobs/{id}',
    tags: ['jobs'],
    operationId: 'cancelJob',
    summary: 'Cancel a queued or running job.',
    request: { params: jobId },
    responses: {
      202: { description: 'Cancel requested; the body is the job as it is now.', content: json(jobSchema) },
      ...errors(404, 409, 503),
    },
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}/images/{index}',
    tags: ['jobs'],
    operationId: 'getJobImage',
    summary: 'One output image of a succeeded generation or image-to-image job.',
    request: { params: imageParams },
    responses: {
      200: {
        description: "The image, in the job's output format.",
        content: binaryContent('image/png', 'image/webp', 'image/jpeg'),
      },
      302: {
        description:
          'With S3_PRESIGNED_URLS=true: a redirect to a presigned URL of the bucket, which serves the image.',
        headers: { Location: { description: 'The presigned URL.', schema: { type: 'string', format: 'uri' } } },
      },
      ...errors(404, 409, 503),
    },
  },
  {
    method: 'get',
    path: '/v1/jobs/{id}/archive',
    tags: ['jobs'],
    operationId: 'getJobArchive',
    summary: "A zip of the job's images (or inputs) and a manifest.json, streamed.",
    request: { params: jobId },
    responses: {
      200: { description: 'A zip.', content: binaryContent('application/zip') },
      ...errors(404, 409, 429, 503),
    },
  },
  {
    method: 'post',
    path: '/v1/batches',
    tags: ['batches'],
    operationId: 'createBatch',
    summary: 'Many generation and classification requests as one batch.',
    request: { body: { required: true, content: json(batchRequestSchema) }, headers: preferHeaders },
    responses: { 200: finished('batch'), 202: accepted('batch'), ...errors(400, 413, 415, 422, 503) },
  },
  {
    method: 'get',
    path: '/v1/batches/{id}',
    tags: ['batches'],
    operationId: 'getBatch',
    summary: 'A batch: totals and each job.',
    request: { params: batchId },
    responses: { 200: { description: 'The batch.', content: json(batchViewSchema) }, ...errors(404, 503) },
  },
  {
    method: 'get',
    path: '/v1/batches/{id}/archive',
    tags: ['batches'],
    operationId: 'getBatchArchive',
    summary: 'One zip: a folder per job and a top-level manifest.json.',
    request: { params: batchId },
    responses: {
      200: { description: 'A zip.', content: binaryContent('application/zip') },
      ...errors(404, 409, 429, 503),
    },
  },
  {
    method: 'get',
    path: '/v1/webhook-secret',
    tags: ['webhooks'],
    operationId: 'getWebhookSecret',
    summary: "The secret the calling key's webhook deliveries are signed with; each key sees only its own.",
    responses: {
      200: { description: 'The secret.', content: json(webhookSecretSchema) },
      422: {
        description: '`webhooks_not_configured`: the server has no WEBHOOK_SECRET and sends no webhooks.',
        content: json(errorResponseSchema),
      },
    },
  },
  {
    method: 'post',
    path: '/v1/images/generations',
    tags: ['openai'],
    operationId: 'createImageOpenAI',
    summary: 'OpenAI-compatible image generation: enqueues a generation job and waits for it (OPENAI_WAIT_SECONDS).',
    description:
      "Errors use OpenAI's shape. After the wait the answer is 504 naming the job, which runs on and can be polled at /v1/jobs/{id}.",
    request: { body: { required: true, content: json(openAiImageRequestSchema) } },
    responses: {
      200: { description: 'The images, as URLs or base64.', content: json(openAiImagesResponseSchema) },
      ...openAiErrors(400, 409, 413, 415, 422, 429, 500),
      504: {
        description: 'The job has not finished within OPENAI_WAIT_SECONDS; it runs on, and the message names its URL.',
        headers: { Location: { description: 'Where to poll the job.', schema: { type: 'string' } } },
        content: json(openAiErrorSchema),
      },
      ...errors(503),
    },
  },
];

function packageVersion(): string {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return '0.0.0';
}

/** Builds the whole document (cheap enough to build once per process). */
export function buildOpenApiDocument(): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  for (const route of [...ROUTES, ...COMPAT_ROUTES]) registry.registerPath(route);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'darkroom',
      version: packageVersion(),
      description:
        'Asynchronous image generation and classification through a job queue: submit (202 and a job), poll, then fetch images or a zip.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags: [
      { name: 'jobs', description: 'Submit and follow jobs.' },
      { name: 'batches', description: 'Many requests as one BullMQ flow.' },
      { name: 'models', description: 'What the server can run.' },
      { name: 'openai', description: 'OpenAI-compatible endpoints.' },
      { name: 'comfyui', description: "ComfyUI's API (and its websocket at /ws?clientId=, not listed here)." },
      { name: 'automatic1111', description: "AUTOMATIC1111's /sdapi/v1 API." },
      { name: 'webhooks', description: 'Verifying webhook deliveries.' },
      { name: 'service', description: 'Health, readiness and this documentation.' },
    ],
  });
}
