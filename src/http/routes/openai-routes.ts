import { Router } from 'express';
import { AppError } from '../../errors';
import { generationResultSchema, newJobId, type GenerationParams } from '../../jobs/job-contract';
import type { JobView } from '../../jobs/job-view';
import type { ModelCatalog } from '../../models/model-catalog';
import type { AppDeps, LiveAppDeps } from '../app-deps';
import { createErrorHandler, validationError } from '../error-handler';
import { principalOf } from '../api-key-auth';
import { findJob, viewOf } from '../job-lookup';
import { enqueueJob } from '../job-submission';
import { resolveGenerationParams } from '../job-params';
import { waitForJobEnd } from '../job-wait';
import { fingerprint, idempotent } from '../idempotency';
import { jsonBody } from '../json-body';
import { publicBaseUrl } from '../public-address';
import {
  OPENAI_MODEL_NAME,
  openAiErrorBody,
  openAiImageRequestSchema,
  type OpenAiImageRequest,
  type OpenAiImagesResponse,
} from '../openai-schemas';
import { generationRequestSchema } from '../request-schemas';

export const OPENAI_IMAGES_PATH = '/v1/images/generations';

// OpenAI's client libraries resubmit on 409 and 5xx unless told not to; here that would enqueue the job again.
const NO_RETRY = { 'x-should-retry': 'false' };

/** Reports errors about width or height against `size`, the field this route's client sent. */
function asSizeError(err: unknown, size: string | undefined): unknown {
  if (!(err instanceof AppError) || !Array.isArray(err.details)) return err;
  const details = (err.details as { field: string; message: string }[]).map((d) =>
    d.field === 'width' || d.field === 'height' ? { field: 'size', message: `${d.field}: ${d.message}` } : d,
  );
  if (!details.some((d) => d.field === 'size')) return err;
  return new AppError(
    err.status,
    err.code,
    `invalid size ${JSON.stringify(size)}: ${err.message}`,
    details,
    err.headers,
  );
}

const isOpenAiModel = (name: string | undefined, catalog: ModelCatalog) =>
  name !== undefined && !catalog.get(name) && OPENAI_MODEL_NAME.test(name);

/** OpenAI's request as darkroom generation parameters, validated like POST /v1/generations. */
function generationParamsOf(body: OpenAiImageRequest, { catalog, config }: AppDeps): GenerationParams {
  const { model, size, response_format: _format, quality: _quality, style: _style, user: _user, ...rest } = body;
  const [width, height] = size && size !== 'auto' ? size.split('x').map(Number) : [];
  const parsed = generationRequestSchema.safeParse({
    ...rest,
    model: isOpenAiModel(model, catalog) ? undefined : model,
    width,
    height,
  });
  try {
    if (!parsed.success) throw validationError(parsed.error);
    return resolveGenerationParams(parsed.data, catalog, config.limits);
  } catch (err) {
    throw asSizeError(err, size);
  }
}

/** The error for a job that has not succeeded, naming the job and where to follow it. */
function notSucceeded(view: JobView, jobUrl: string, waitSeconds: number): AppError {
  switch (view.status) {
    case 'failed':
      return new AppError(
        500,
        view.error?.code ?? 'job_failed',
        `job ${view.id} failed (${view.error?.code}): ${view.error?.message}`,
        undefined,
        NO_RETRY,
      );
    case 'canceled':
      return new AppError(409, 'job_canceled', `job ${view.id} was canceled`, undefined, NO_RETRY);
    default:
      return new AppError(
        504,
        'job_timeout',
        `job ${view.id} is still ${view.status} after ${waitSeconds} s; poll ${jobUrl} for its status, and fetch its images from ${jobUrl}/images/{index} once it has succeeded`,
        undefined,
        { ...NO_RETRY, Location: `/v1/jobs/${view.id}` },
      );
  }
}

/** OpenAI-compatible image generation: a normal generation job, waited for, answered in OpenAI's shape. */
export function openAiRoutes(deps: LiveAppDeps): Router {
  const router = Router();
  const { config, store } = deps;

  router.post(OPENAI_IMAGES_PATH, jsonBody(config.limits), async (req, res) => {
    const body = openAiImageRequestSchema.safeParse(req.body ?? {});
    if (!body.success) throw validationError(body.error);
    const params = generationParamsOf(body.data, deps);
    const owner = principalOf(req);
    // The request waits for its job: it takes a wait slot before there is a job to wait for.
    deps.openStreams.open(req, res);
    const { id } = await idempotent(
      deps,
      req,
      () => fingerprint('openai_generation', JSON.stringify(body.data)),
      () =>
        enqueueJob(deps, req, newJobId('generation'), {
          type: 'generation',
          params,
          cacheable: body.data.seed !== undefined,
        }),
    );

    const left = new AbortController();
    res.on('close', () => left.abort());
    await waitForJobEnd(deps, id, config.http.openaiWaitSeconds * 1000, left.signal);
    // A client that hung up gets nothing; the job runs on and can be polled.
    if (left.signal.aborted) return;
    const view = await viewOf(deps, await findJob(deps, owner, id));
    const jobUrl = `${publicBaseUrl(req, config.http)}/v1/jobs/${id}`;
    if (view.status !== 'succeeded') throw notSucceeded(view, jobUrl, config.http.openaiWaitSeconds);

    const images = generationResultSchema
      .parse((await findJob(deps, owner, id)).returnvalue)
      .images.sort((a, b) => a.index - b.index);
    const data =
      body.data.response_format === 'b64_json'
        ? await Promise.all(
            images.map(async (image) => ({ b64_json: (await store.get(image.key)).toString('base64') })),
          )
        : images.map((image) => ({ url: `${jobUrl}/images/${image.index}` }));
    const created = Math.floor(Date.parse(view.finished_at ?? new Date().toISOString()) / 1000);
    res.json({ created, data } satisfies OpenAiImagesResponse);
  });

  // Errors of this route in OpenAI's shape, which its client libraries parse.
  router.use(OPENAI_IMAGES_PATH, createErrorHandler(deps.logger, openAiErrorBody));
  return router;
}
