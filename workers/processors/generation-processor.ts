import { jobOwner } from '../../src/auth/api-keys';
import { encodeImage } from '../../src/imaging/image-codec';
import {
  diffusionParamsSchema,
  generationPayloadSchema,
  MIME_OF_FORMAT,
  type GenerationResult,
  type ImageOutput,
} from '../../src/jobs/job-contract';
import { outputKey } from '../../src/storage/blob-store';
import { cacheKey, rememberImage } from '../cache/result-cache';
import { runDiffusionJob } from '../diffusion/diffusion-job';
import { hashedBagOfWords } from '../generation/prompt-embedding';
import { sampleLatent } from '../generation/seeded-random';
import { tensorToImage } from '../imaging/image-tensor';
import type { Feeds } from '../runtime/tensor-data';
import {
  progressReporter,
  readPayload,
  requireModel,
  throwIfAborted,
  type Processor,
  type ProcessorContext,
} from './processor-context';

/**
 * Generates `n` images from a latent generator. Image i uses seed + i, so any single image can be
 * reproduced alone, and outputs are keyed by job and index so a retry overwrites, never duplicates.
 */
export function createGenerationProcessor(ctx: ProcessorContext): Processor {
  return async (job, _token, signal) => {
    const payload = readPayload(generationPayloadSchema, job.data);
    const { params, cacheable = false } = payload;
    const model = ctx.registry.get(params.model);
    if (model?.kind === 'diffusion') {
      return runDiffusionJob(
        ctx,
        model,
        job,
        { ...params, ...readPayload(diffusionParamsSchema, params), cacheable },
        signal,
      );
    }
    const { manifest, runner } = requireModel(ctx.registry, params.model, 'generator');
    const progress = progressReporter(job, params.n, ctx.logger);
    const latentSize = manifest.latent.shape.reduce((a, b) => a * b, 1);
    const prompt = manifest.prompt ? hashedBagOfWords(params.prompt, manifest.prompt.dim) : undefined;
    const images = await Promise.all(
      Array.from({ length: params.n }, async (_, index): Promise<ImageOutput> => {
        const seed = (params.seed + index) >>> 0;
        const produce = async () => {
          const feeds: Feeds = {
            [manifest.inputs.latent]: {
              type: 'float32',
              dims: [1, ...manifest.latent.shape],
              data: sampleLatent(seed, latentSize, manifest.latent.distribution),
            },
          };
          if (manifest.prompt && prompt)
            feeds[manifest.prompt.input] = {
              type: 'float32',
              dims: [1, manifest.prompt.dim],
              data: Float32Array.from(prompt),
            };
          const outputs = await runner.run(feeds, signal);
          throwIfAborted(signal);
          const raw = tensorToImage(outputs[manifest.outputs.image].data as Float32Array, 0, manifest.output);
          return encodeImage(raw, params.output_format, {
            width: params.width,
            height: params.height,
            kernel: manifest.output.resize_kernel,
          });
        };
        const cacheId = cacheKey(
          'generation',
          manifest.name,
          manifest.prompt ? params.prompt : '',
          params.width,
          params.height,
          params.output_format,
          seed,
        );
        const { bytes: encoded, cached } = await rememberImage(
          ctx.cache,
          cacheable,
          jobOwner(payload),
          cacheId,
          produce,
        );
        throwIfAborted(signal);
        const key = outputKey(String(job.id), index, params.output_format);
        await ctx.store.put(key, encoded);
        await progress();
        return {
          index,
          key,
          width: params.width,
          height: params.height,
          seed,
          content_type: MIME_OF_FORMAT[params.output_format],
          bytes: encoded.length,
          cached,
        };
      }),
    );
    const result: GenerationResult = { images, cached: images.every((i) => i.cached) };
    return result;
  };
}
