import type { ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { a1111Img2ImgSchema, a1111OptionsSchema, a1111Txt2ImgSchema } from '../a1111/a1111-schemas';
import { comfyPromptRequestSchema, comfyQueueRequestSchema } from '../comfy/comfy-schemas';

/** The ComfyUI and AUTOMATIC1111 routes in the OpenAPI document, with the shapes their clients read. */

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });
const ok = (description: string, schema?: z.ZodType): ResponseConfig =>
  schema ? { description, content: json(schema) } : { description };
const loose = (id: string, description: string) => z.record(z.string(), z.unknown()).meta({ id, description });

const comfyError = z
  .object({
    error: z.object({ type: z.string(), message: z.string(), details: z.string(), extra_info: z.object({}).loose() }),
    node_errors: z.record(
      z.string(),
      z.object({
        errors: z.array(z.object({ type: z.string(), message: z.string(), details: z.string() }).loose()),
        dependent_outputs: z.array(z.string()),
        class_type: z.string(),
      }),
    ),
  })
  .meta({
    id: 'ComfyPromptError',
    description: 'Why the workflow cannot run: `node_errors` names each node at fault.',
  });
const promptAccepted = z.object({ prompt_id: z.string(), number: z.number(), node_errors: z.object({}).loose() }).meta({
  id: 'ComfyPromptAccepted',
  description: 'The prompt id is its darkroom job id (GET /v1/jobs/{id} shows it).',
});
const history = loose('ComfyHistory', 'Finished prompts of this key by id: prompt, outputs (images), status, meta.');
const images = z.object({ images: z.array(z.string()), parameters: z.object({}).loose(), info: z.string() }).meta({
  id: 'A1111ImagesResponse',
  description: 'TextToImageResponse / ImageToImageResponse: base64 PNGs; info is JSON text.',
});
const a1111Error = z
  .object({ detail: z.union([z.string(), z.array(z.object({}).loose())]), error: z.string().optional() })
  .meta({ id: 'A1111Error' });

const cap = (w: string) => w[0].toUpperCase() + w.slice(1);
/** `comfyGetHistoryId`, `a1111PostTxt2img`: unique, from the method and path. */
const operationId = (api: string, method: string, path: string) =>
  api +
  cap(method) +
  path
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map(cap)
    .join('');

const comfy = (method: RouteConfig['method'], path: string, summary: string, extra: Partial<RouteConfig> = {}) =>
  ({
    method,
    path,
    operationId: operationId('comfy', method, path),
    tags: ['comfyui'],
    summary,
    responses: { 200: ok('As ComfyUI answers it.'), 401: ok('No valid API key.') },
    ...extra,
  }) as RouteConfig;
const a1111 = (method: RouteConfig['method'], path: string, summary: string, extra: Partial<RouteConfig> = {}) =>
  ({
    method,
    path: `/sdapi/v1${path}`,
    operationId: operationId('a1111', method, path),
    tags: ['automatic1111'],
    summary,
    responses: {
      200: ok('As AUTOMATIC1111 answers it.'),
      401: ok('No valid API key.'),
      422: ok('Invalid fields.', a1111Error),
    },
    ...extra,
  }) as RouteConfig;

export const COMPAT_ROUTES: RouteConfig[] = [
  comfy('post', '/prompt', 'Queue an API-format workflow as one darkroom job.', {
    request: { body: { required: true, content: json(comfyPromptRequestSchema) } },
    responses: {
      200: ok('Queued.', promptAccepted),
      400: ok('The workflow uses nodes or values darkroom does not run.', comfyError),
      401: ok('No valid API key.'),
      429: ok('A per-key quota or rate limit was reached.', comfyError),
    },
  }),
  comfy('get', '/prompt', "This key's unfinished prompts: { exec_info: { queue_remaining } }."),
  comfy('get', '/history', "This key's finished prompts (max_items, newest last).", {
    responses: { 200: ok('By prompt id.', history) },
  }),
  comfy('get', '/history/{id}', 'One finished prompt ({} while it runs, or when it is not this key’s).', {
    request: { params: z.object({ id: z.string() }) },
    responses: { 200: ok('By prompt id.', history) },
  }),
  comfy('get', '/view', 'An output image (filename from history or `executed`), or an uploaded input (type=input).'),
  comfy('get', '/queue', "This key's running and pending prompts."),
  comfy('post', '/queue', 'Cancel this key’s prompts: `delete` (ids) or `clear` (all pending).', {
    request: { body: { required: true, content: json(comfyQueueRequestSchema) } },
  }),
  comfy('post', '/interrupt', 'Cancel this key’s running prompts (or the one `prompt_id` names).'),
  comfy('post', '/upload/image', 'Upload an image for LoadImage (multipart `image`); kept JOB_RETENTION_SECONDS.'),
  comfy('get', '/object_info', 'The node classes darkroom runs; ckpt_name lists its diffusion models.'),
  comfy('get', '/object_info/{node}', 'One node class.', { request: { params: z.object({ node: z.string() }) } }),
  comfy('get', '/system_stats', 'The API host (ComfyUI clients ping this first).'),
  comfy('get', '/embeddings', 'None: []'),
  comfy('get', '/extensions', 'None: []'),
  a1111('post', '/txt2img', 'Text to image; waits for the job (OPENAI_WAIT_SECONDS).', {
    request: { body: { required: true, content: json(a1111Txt2ImgSchema) } },
  }),
  a1111('post', '/img2img', 'Image to image from init_images[0] at denoising_strength; waits for the job.', {
    request: { body: { required: true, content: json(a1111Img2ImgSchema) } },
  }),
  a1111('get', '/progress', "This key's latest job: progress, sampling_step of sampling_steps."),
  a1111('post', '/interrupt', "Cancel this key's latest job."),
  a1111('get', '/sd-models', 'The diffusion models, as checkpoints.'),
  a1111('get', '/samplers', "darkroom's schedulers by A1111's sampler names."),
  a1111('get', '/options', "sd_model_checkpoint: this key's model."),
  a1111('post', '/options', 'Set sd_model_checkpoint for this key (other options are ignored).', {
    request: { body: { required: true, content: json(a1111OptionsSchema) } },
  }),
];

// The success bodies of the two generation routes, attached here so the list above stays one line each.
for (const route of COMPAT_ROUTES) if (route.path.endsWith('2img')) route.responses[200] = ok('The images.', images);
