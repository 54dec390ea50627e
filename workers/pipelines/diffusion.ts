import { diffusionParamsSchema } from '../../src/jobs/job-contract';
import type { DiffusionManifest } from '../../src/models/model-manifest';
import { runDiffusionJob } from '../diffusion/diffusion-job';
import { loadDiffusionPipeline, type DiffusionPipeline } from '../diffusion/diffusion-pipeline';
import type { JobRun, KindPipeline } from './kind-pipeline';
import { readPayload } from './pipeline-context';

/** A loaded diffusion model: text encoder, UNet and VAE, one runner each. */
export interface DiffusionModel {
  kind: 'diffusion';
  manifest: DiffusionManifest;
  pipeline: DiffusionPipeline;
}

/** Text-to-image: the API filled in the model's defaults; a payload without them is not ours. */
const generate: JobRun<DiffusionModel, 'generation'> = (ctx, model, job, { params, cacheable = false }, signal) =>
  runDiffusionJob(ctx, model, job, { ...params, ...readPayload(diffusionParamsSchema, params), cacheable }, signal);

/** Image-to-image: the input image's latent, noised to `strength`, is denoised under the prompt. */
const transform: JobRun<DiffusionModel, 'image_to_image'> = (ctx, model, job, payload, signal) => {
  const settings = readPayload(diffusionParamsSchema, payload.params);
  return runDiffusionJob(
    ctx,
    model,
    job,
    {
      ...payload.params,
      ...settings,
      prompt: payload.params.prompt ?? '',
      input: payload.input,
      cacheable: payload.cacheable ?? false,
    },
    signal,
  );
};

export const diffusionPipeline: KindPipeline<DiffusionManifest, DiffusionModel> = {
  async load({ manifest, pipeline }, startRunner) {
    if (!pipeline) throw new Error(`model ${manifest.name}: pipeline folder not resolved`);
    return { kind: 'diffusion', manifest, pipeline: await loadDiffusionPipeline(manifest, pipeline, startRunner) };
  },
  runners: (model) => model.pipeline.runners(),
  jobs: { generation: generate, image_to_image: transform },
};
