import { Router, type Request, type RequestHandler, type Response } from 'express';
import { AppError } from '../../errors';
import { newJobId } from '../../jobs/job-contract';
import type { AppDeps, LiveAppDeps } from '../app-deps';
import { validationError } from '../error-handler';
import { checkImageCount, decodeBase64Image, stageImages, type UploadedImage } from '../image-input';
import { kindOf } from '../../models/model-kinds';
import { resolveClassificationParams, resolveGenerationParams, resolveImageToImageParams } from '../job-params';
import { viewOf } from '../job-lookup';
import { fingerprint, idempotent } from '../idempotency';
import { checkJobCost, imageToImageCost } from '../job-cost';
import { enqueueJob, withStagedInputs } from '../job-submission';
import { resolveWebhook } from '../webhook-params';
import { readMultipart } from '../multipart';
import { waitIfPreferred } from '../prefer-wait';
import { jsonBody } from '../json-body';
import {
  classificationFormSchema,
  classificationRequestSchema,
  generationRequestSchema,
  imageToImageFormSchema,
  imageToImageRequestSchema,
} from '../request-schemas';
/** POST /v1/generations and /v1/classifications: validate, stage inputs, enqueue, answer 202 (200 once finished with `Prefer: wait`). */
export function submitRoutes(deps: LiveAppDeps): Router {
  const router = Router();
  const { config } = deps;

  const json = jsonBody(config.limits);
  const jsonOrMultipart = jsonBody(config.limits, { multipart: true });

  router.post('/v1/generations', json, postGeneration(deps));
  router.post('/v1/classifications', jsonOrMultipart, postClassification(deps));
  router.post('/v1/image-to-image', jsonOrMultipart, postImageToImage(deps));

  return router;
}

/** 202 with the job's view, or 200 once it finished when the client asked to wait. */
async function accepted(deps: LiveAppDeps, res: Response, id: string) {
  const { queues } = deps;
  const finished = await waitIfPreferred(deps, res, id);
  const job = await queues.getJob(id);
  if (!job) throw new Error(`job ${id} vanished right after it was added`);
  res
    .status(finished ? 200 : 202)
    .location(`/v1/jobs/${id}`)
    .json(await viewOf(deps, job));
}

function postGeneration(deps: LiveAppDeps): RequestHandler {
  const { config, catalog } = deps;
  return async (req, res) => {
    const body = generationRequestSchema.safeParse(req.body ?? {});
    if (!body.success) throw validationError(body.error);
    const params = resolveGenerationParams(body.data, catalog, config.limits);
    const webhook = await resolveWebhook(body.data.webhook, config.webhooks);
    const { id } = await idempotent(
      deps,
      req,
      () => fingerprint('generation', JSON.stringify(body.data)),
      () =>
        enqueueJob(deps, req, newJobId('generation'), {
          type: 'generation',
          params,
          cacheable: body.data.seed !== undefined,
          webhook,
        }),
    );
    await accepted(deps, res, id);
  };
}

function postClassification(deps: LiveAppDeps): RequestHandler {
  const { config, store, catalog } = deps;
  return async (req, res) => {
    const { params, images, webhook: wanted } = await readClassificationRequest(req, deps);
    const webhook = await resolveWebhook(wanted, config.webhooks);
    const body = () =>
      fingerprint(
        'classification',
        JSON.stringify({ ...params, ...(webhook && { webhook }) }),
        ...images.map((i) => i.data),
      );
    const { id } = await idempotent(deps, req, body, () =>
      withStagedInputs(deps, newJobId('classification'), async (id) => {
        const inputs = await stageImages(images, id, store, config.limits, catalog.get(params.model)?.manifest);
        return enqueueJob(deps, req, id, { type: 'classification', params, inputs, webhook });
      }),
    );
    await accepted(deps, res, id);
  };
}

function postImageToImage(deps: LiveAppDeps): RequestHandler {
  const { config, store, catalog } = deps;
  return async (req, res) => {
    const { params, image, seedGiven, webhook: wanted } = await readImageToImageRequest(req, deps);
    const webhook = await resolveWebhook(wanted, config.webhooks);
    // A seedless model (a graph) is deterministic; diffusion is reproducible when the client chose the seed.
    const entry = catalog.get(params.model);
    const cacheable = seedGiven || (entry !== undefined && kindOf(entry.manifest).seedless);
    const { id } = await idempotent(
      deps,
      req,
      () => fingerprint('image_to_image', JSON.stringify({ ...params, ...(webhook && { webhook }) }), image.data),
      () =>
        withStagedInputs(deps, newJobId('image_to_image'), async (id) => {
          const [input] = await stageImages([image], id, store, config.limits, entry?.manifest);
          // Its cost depends on the input's size, known once the image is checked.
          checkJobCost(imageToImageCost(params, input), config.limits);
          return enqueueJob(deps, req, id, { type: 'image_to_image', params, input, cacheable, webhook });
        }),
    );
    await accepted(deps, res, id);
  };
}

/** One input image as a multipart `image` part, or JSON with a base64 `image`. */
async function readImageToImageRequest(req: Request, { config, catalog }: AppDeps) {
  if (req.is('multipart/form-data')) {
    const { fields, files } = await readMultipart(req, { maxBytes: config.limits.maxUploadBytes, files: 1 });
    const form = imageToImageFormSchema.safeParse(fields);
    if (!form.success) throw validationError(form.error);
    if (files.length !== 1)
      throw new AppError(422, 'validation_error', 'send exactly one "image" file part', [
        { field: 'image', message: 'required' },
      ]);
    return {
      params: resolveImageToImageParams(form.data, catalog, config.limits),
      image: { ...files[0], field: 'image' },
      seedGiven: form.data.seed !== undefined,
      webhook: form.data.webhook,
    };
  }
  const body = imageToImageRequestSchema.safeParse(req.body ?? {});
  if (!body.success) throw validationError(body.error);
  const { image, ...rest } = body.data;
  return {
    params: resolveImageToImageParams(rest, catalog, config.limits),
    image: decodeBase64Image(image, 'image'),
    seedGiven: rest.seed !== undefined,
    webhook: rest.webhook,
  };
}

/** Accepts the same request as JSON (base64 images) or multipart/form-data (`image` parts). */
async function readClassificationRequest(req: Request, { config, catalog }: AppDeps) {
  if (req.is('multipart/form-data')) {
    const { fields, files } = await readMultipart(req, {
      maxBytes: config.limits.maxUploadBytes,
      files: config.limits.maxImagesPerRequest,
    });
    const form = classificationFormSchema.safeParse(fields);
    if (!form.success) throw validationError(form.error);
    if (!files.length)
      throw new AppError(422, 'validation_error', 'no image: send at least one "image" file part', [
        { field: 'image', message: 'required' },
      ]);
    return {
      params: resolveClassificationParams(form.data, catalog, config.limits),
      images: files,
      webhook: form.data.webhook,
    };
  }
  const body = classificationRequestSchema.safeParse(req.body ?? {});
  if (!body.success) throw validationError(body.error);
  checkImageCount(body.data.images.length, config.limits);
  const images: UploadedImage[] = body.data.images.map((value, i) => decodeBase64Image(value, `images.${i}`));
  return { params: resolveClassificationParams(body.data, catalog, config.limits), images, webhook: body.data.webhook };
}
