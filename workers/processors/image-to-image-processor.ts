import { diffusionParamsSchema, imageToImagePayloadSchema, type GenerationResult } from '../../src/jobs/job-contract';
import { JobFailure, RetryableJobFailure } from '../../src/jobs/job-failure';
import { runDiffusionJob } from '../diffusion/diffusion-job';
import { runImageGraph } from './image-graph-processor';
import { readPayload, type Processor, type ProcessorContext } from './processor-context';

/** Image-to-image jobs: graph models (style transfer, super-resolution) or diffusion img2img. */
export function createImageToImageProcessor(ctx: ProcessorContext): Processor {
  return async (job, _token, signal): Promise<GenerationResult> => {
    const payload = readPayload(imageToImagePayloadSchema, job.data);
    const model = ctx.registry.get(payload.params.model);
    if (!model)
      throw new RetryableJobFailure('model_unavailable', `this worker has no model "${payload.params.model}"`);
    switch (model.kind) {
      case 'image_to_image':
        return runImageGraph(ctx, model, job, payload, signal);
      case 'diffusion': {
        // The API filled in the model's defaults; a payload without them is not ours.
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
      }
      default:
        throw new JobFailure(
          'wrong_model_kind',
          `model "${model.manifest.name}" is a ${model.kind}; image-to-image needs an image_to_image or diffusion model`,
        );
    }
  };
}
