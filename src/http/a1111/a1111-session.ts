import type { Request, Response } from 'express';
import { generationResultSchema, type GenerationParams, type ImageToImageParams } from '../../jobs/job-contract';
import type { JobView } from '../../jobs/job-view';
import type { LiveAppDeps } from '../app-deps';
import { principalOf } from '../api-key-auth';
import { findJob, viewOf } from '../job-lookup';
import { waitForJobEnd } from '../job-wait';
import { a1111Info, notFinished } from './a1111-response';
import { createA1111State, type A1111State } from './a1111-state';

export type A1111Params = GenerationParams | ImageToImageParams;

/** What the /sdapi/v1 routes share: the per-key state, the checkpoints, and waiting for a key's job. */
export interface A1111Session {
  deps: LiveAppDeps;
  state: A1111State;
  /** The catalog's diffusion models: AUTOMATIC1111's checkpoints. */
  diffusionModels(): string[];
  /** The key's checkpoint: its choice, else the default generation model when it is a diffusion model, else the first. */
  modelOf(owner: string): Promise<string | null>;
  /** The key's latest /sdapi job, while it is kept. */
  currentView(owner: string): Promise<JobView | undefined>;
  /** Waits for the key's job and answers with its images; the key's progress and interrupt follow it meanwhile. */
  answer(
    req: Request,
    res: Response,
    id: string,
    params: A1111Params,
    parameters: object,
    batchSize: number,
  ): Promise<void>;
}

export function a1111Session(deps: LiveAppDeps): A1111Session {
  const { config, catalog } = deps;
  const state = createA1111State(deps.redis, config.redis.prefix, config.jobs.retentionSeconds);
  const diffusionModels = () =>
    catalog.entries.filter((e) => e.manifest.kind === 'diffusion').map((e) => e.manifest.name);

  async function modelOf(owner: string): Promise<string | null> {
    const fallback = catalog.defaultFor('generation');
    const first = fallback?.manifest.kind === 'diffusion' ? fallback.manifest.name : diffusionModels()[0];
    return (await state.model(owner)) ?? first ?? null;
  }

  async function currentView(owner: string): Promise<JobView | undefined> {
    const id = await state.current(owner);
    const job = id ? await findJob(deps, owner, id).catch(() => undefined) : undefined;
    return job && viewOf(deps, job);
  }

  return {
    deps,
    state,
    diffusionModels,
    modelOf,
    currentView,
    answer: (req, res, id, params, parameters, batchSize) =>
      answerWithImages(deps, state, req, res, id, params, parameters, batchSize),
  };
}

async function answerWithImages(
  deps: LiveAppDeps,
  state: A1111State,
  req: Request,
  res: Response,
  id: string,
  params: A1111Params,
  parameters: object,
  batchSize: number,
) {
  const { config } = deps;
  const owner = principalOf(req);
  await state.setCurrent(owner, id);
  const left = new AbortController();
  res.on('close', () => left.abort());
  await waitForJobEnd(deps, id, config.http.openaiWaitSeconds * 1000, left.signal);
  if (left.signal.aborted) return;
  const job = await findJob(deps, owner, id);
  const view = await viewOf(deps, job);
  if (view.status !== 'succeeded') throw notFinished(view, config.http.openaiWaitSeconds);
  const images = generationResultSchema.parse(job.returnvalue).images.sort((a, b) => a.index - b.index);
  const data = await Promise.all(images.map(async (i) => (await deps.store.get(i.key)).toString('base64')));
  const send = (parameters as { send_images?: boolean }).send_images !== false;
  res.json({ images: send ? data : [], parameters, info: a1111Info(params, images, view, batchSize) });
}
