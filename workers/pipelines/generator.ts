import { jobOwner } from '../../src/auth/api-keys';
import { encodeImage } from '../../src/imaging/image-codec';
import { MIME_OF_FORMAT, type GenerationParams, type ImageOutput } from '../../src/jobs/job-contract';
import type { GeneratorManifest } from '../../src/models/model-manifest';
import { outputKey } from '../../src/storage/blob-store';
import { cacheKey, rememberImage } from '../cache/result-cache';
import { hashedBagOfWords } from '../generation/prompt-embedding';
import { sampleLatent } from '../generation/seeded-random';
import { tensorToImage } from '../imaging/image-tensor';
import type { ModelRunner } from '../runtime/model-runner';
import type { Feeds } from '../runtime/tensor-data';
import { startGraphRunner } from './graph-runner';
import type { JobRun, KindPipeline } from './kind-pipeline';
import { progressReporter, throwIfAborted } from './pipeline-context';

/** A loaded latent generator (GAN, CPPN): one graph. */
export interface GeneratorModel {
  kind: 'generator';
  manifest: GeneratorManifest;
  runner: ModelRunner;
}

/** The encoded image of one seed: sample the latent, run the graph, resize and encode. */
async function renderSeed(
  { manifest, runner }: GeneratorModel,
  params: GenerationParams,
  seed: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  const latentSize = manifest.latent.shape.reduce((a, b) => a * b, 1);
  const feeds: Feeds = {
    [manifest.inputs.latent]: {
      type: 'float32',
      dims: [1, ...manifest.latent.shape],
      data: sampleLatent(seed, latentSize, manifest.latent.distribution),
    },
  };
  if (manifest.prompt)
    feeds[manifest.prompt.input] = {
      type: 'float32',
      dims: [1, manifest.prompt.dim],
      data: Float32Array.from(hashedBagOfWords(params.prompt, manifest.prompt.dim)),
    };
  const outputs = await runner.run(feeds, signal);
  throwIfAborted(signal);
  const raw = tensorToImage(outputs[manifest.outputs.image].data as Float32Array, 0, manifest.output);
  return encodeImage(raw, params.output_format, {
    width: params.width,
    height: params.height,
    kernel: manifest.output.resize_kernel,
  });
}

/**
 * Generates `n` images. Image i uses seed + i, so any single image can be reproduced alone, and
 * outputs are keyed by job and index so a retry overwrites, never duplicates.
 */
const generate: JobRun<GeneratorModel, 'generation'> = async (ctx, model, job, payload, signal) => {
  const { params, cacheable = false } = payload;
  const { manifest } = model;
  const progress = progressReporter(job, params.n, ctx.logger, signal);
  const images = await Promise.all(
    Array.from({ length: params.n }, async (_, index): Promise<ImageOutput> => {
      const seed = (params.seed + index) >>> 0;
      const cacheId = () =>
        cacheKey(
          'generation',
          manifest.name,
          manifest.prompt ? params.prompt : '',
          params.width,
          params.height,
          params.output_format,
          seed,
        );
      const { bytes: encoded, cached } = await rememberImage(ctx.cache, cacheable, jobOwner(payload), cacheId, () =>
        renderSeed(model, params, seed, signal),
      );
      throwIfAborted(signal);
      const key = outputKey(String(job.id), index, params.output_format);
      await ctx.store.put(key, encoded);
      await progress();
      const { width, height, output_format: format } = params;
      return { index, key, width, height, seed, content_type: MIME_OF_FORMAT[format], bytes: encoded.length, cached };
    }),
  );
  return { images, cached: images.every((i) => i.cached) };
};

export const generatorPipeline: KindPipeline<GeneratorManifest, GeneratorModel> = {
  async load(entry, startRunner) {
    const { manifest } = entry;
    const inputs = [manifest.inputs.latent, ...(manifest.prompt ? [manifest.prompt.input] : [])];
    return {
      kind: 'generator',
      manifest,
      runner: await startGraphRunner(entry, startRunner, [manifest.outputs.image], inputs),
    };
  },
  runners: (model) => [model.runner],
  jobs: { generation: generate },
};
