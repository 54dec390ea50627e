import { Router, type RequestHandler } from 'express';
import { AppError } from '../../errors';
import { requestCancel } from '../../jobs/job-cancellation';
import { newJobId } from '../../jobs/job-contract';
import type { LiveAppDeps } from '../app-deps';
import { principalOf } from '../api-key-auth';
import { createErrorHandler, validationError } from '../error-handler';
import { decodeBase64Image, stageImages } from '../image-input';
import { checkJobCost, imageToImageCost } from '../job-cost';
import { enqueueJob, withStagedInputs } from '../job-submission';
import { jsonBody } from '../json-body';
import { checkpointName, img2imgParams, txt2imgParams } from './a1111-params';
import { a1111ErrorBody } from './a1111-response';
import { A1111_SAMPLERS, a1111Img2ImgSchema, a1111OptionsSchema, a1111Txt2ImgSchema } from './a1111-schemas';
import { a1111Session, type A1111Session } from './a1111-session';

/** AUTOMATIC1111's /sdapi/v1 routes: each txt2img or img2img is a darkroom job, waited for like the OpenAI route. */
export const A1111_PATH = '/sdapi/v1';

export function a1111Routes(deps: LiveAppDeps): Router {
  const router = Router();
  const { config } = deps;
  const session = a1111Session(deps);
  const json = jsonBody(config.limits);
  generationRoutes(router, session, json);
  progressRoutes(router, session);
  modelRoutes(router, session, json);
  router.use(A1111_PATH, createErrorHandler(deps.logger, a1111ErrorBody));
  return router;
}

/** txt2img and img2img: each a darkroom job, answered when it ends. */
function generationRoutes(router: Router, { deps, modelOf, answer }: A1111Session, json: RequestHandler) {
  const { config } = deps;

  router.post(`${A1111_PATH}/txt2img`, json, async (req, res) => {
    const body = a1111Txt2ImgSchema.safeParse(req.body ?? {});
    if (!body.success) throw validationError(body.error);
    const params = txt2imgParams(body.data, (await modelOf(principalOf(req))) ?? undefined, deps);
    deps.openStreams.open(req, res);
    const id = await enqueueJob(deps, req, newJobId('generation'), {
      type: 'generation',
      params,
      cacheable: body.data.seed !== -1,
    });
    await answer(req, res, id, params, body.data, body.data.batch_size);
  });

  router.post(`${A1111_PATH}/img2img`, json, async (req, res) => {
    const body = a1111Img2ImgSchema.safeParse(req.body ?? {});
    if (!body.success) throw validationError(body.error);
    const params = img2imgParams(body.data, (await modelOf(principalOf(req))) ?? undefined, deps);
    const image = decodeBase64Image(body.data.init_images[0], 'init_images.0');
    deps.openStreams.open(req, res);
    const id = await withStagedInputs(deps, newJobId('image_to_image'), async (id) => {
      const [input] = await stageImages(
        [image],
        id,
        deps.store,
        config.limits,
        deps.catalog.get(params.model)?.manifest,
      );
      checkJobCost(imageToImageCost(params, input), config.limits);
      return enqueueJob(deps, req, id, { type: 'image_to_image', params, input, cacheable: body.data.seed !== -1 });
    });
    await answer(req, res, id, params, { ...body.data, init_images: null, mask: null }, body.data.batch_size);
  });
}

/** progress and interrupt: both follow the key's latest /sdapi job. */
function progressRoutes(router: Router, { deps, currentView }: A1111Session) {
  const { config } = deps;

  router.get(`${A1111_PATH}/progress`, async (req, res) => {
    const view = await currentView(principalOf(req));
    const live = view && (view.status === 'running' || view.status === 'queued');
    res.json({
      progress: live ? view.progress : 0,
      eta_relative: live ? (view.eta_seconds ?? 0) : 0,
      state: {
        skipped: false,
        interrupted: view?.status === 'canceled',
        job: live ? view.id : '',
        job_count: live ? 1 : 0,
        job_timestamp: (view?.created_at ?? '').replace(/\D/g, '').slice(0, 14) || '0',
        job_no: 0,
        sampling_step: live ? (view.step ?? 0) : 0,
        sampling_steps: live ? (view.steps ?? 0) : 0,
      },
    });
  });

  router.post(`${A1111_PATH}/interrupt`, async (req, res) => {
    const view = await currentView(principalOf(req));
    if (view && (view.status === 'running' || view.status === 'queued'))
      await requestCancel(deps.redis, config.redis.prefix, view.id, config.jobs.retentionSeconds);
    res.json({});
  });
}

/** sd-models, samplers and options: the checkpoints, the samplers, and the key's chosen checkpoint. */
function modelRoutes(router: Router, { state, diffusionModels, modelOf }: A1111Session, json: RequestHandler) {
  router.get(`${A1111_PATH}/sd-models`, (_req, res) => {
    res.json(
      diffusionModels().map((name) => ({
        title: name,
        model_name: name,
        filename: name,
      })),
    );
  });

  router.get(`${A1111_PATH}/samplers`, (_req, res) => {
    res.json(A1111_SAMPLERS.map(({ name, aliases }) => ({ name, aliases, options: {} })));
  });

  router.get(`${A1111_PATH}/options`, async (req, res) => {
    const chosen = await modelOf(principalOf(req));
    res.json({ sd_model_checkpoint: chosen, samples_format: 'png' });
  });

  router.post(`${A1111_PATH}/options`, json, async (req, res) => {
    const body = a1111OptionsSchema.safeParse(req.body ?? {});
    if (!body.success) throw validationError(body.error);
    const wanted = checkpointName(body.data.sd_model_checkpoint);
    if (wanted !== undefined) {
      if (!diffusionModels().includes(wanted))
        throw new AppError(422, 'unknown_model', `unknown checkpoint "${wanted}"; see GET ${A1111_PATH}/sd-models`, [
          { field: 'sd_model_checkpoint', message: 'not one of GET /sdapi/v1/sd-models' },
        ]);
      await state.setModel(principalOf(req), wanted);
    }
    res.json(null);
  });
}
