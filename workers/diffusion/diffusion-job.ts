import type { Job } from 'bullmq';
import { jobOwner } from '../../src/auth/api-keys';
import { decodeImage, encodeImage } from '../../src/imaging/image-codec';
import {
  MIME_OF_FORMAT,
  type DiffusionParams,
  type GenerationResult,
  type ImageOutput,
  type JobPayload,
  type OutputFormat,
  type StagedImage,
} from '../../src/jobs/job-contract';
import { JobFailure } from '../../src/jobs/job-failure';
import { outputKey } from '../../src/storage/blob-store';
import { fromFloat16, toFloat16 } from '../imaging/float16';
import { imageToTensor, tensorToImage } from '../imaging/image-tensor';
import type { DiffusionManifest } from '../../src/models/model-manifest';
import { progressReporter, throwIfAborted, type PipelineContext } from '../pipelines/pipeline-context';
import type { TensorData, TensorType } from '../runtime/tensor-data';
import { cacheKey, rememberImage } from '../cache/result-cache';
import type { DiffusionPipeline } from './diffusion-pipeline';
import { createNormalRng, normalArray } from './normal-rng';
import { createScheduler, img2imgStart } from './schedulers/create-scheduler';

/** What one diffusion job asks for: text-to-image, or image-to-image when `input` is set. */
export interface DiffusionJobParams extends DiffusionParams {
  prompt: string;
  n: number;
  seed: number;
  width?: number;
  height?: number;
  output_format: OutputFormat;
  strength?: number;
  input?: StagedImage;
  /** The client chose the seed: identical requests may be answered from the result cache. */
  cacheable?: boolean;
}

/** A loaded diffusion model: its manifest and its pipeline's graphs. */
type DiffusionModel = { manifest: DiffusionManifest; pipeline: DiffusionPipeline };

/** A float32 array as the tensor type a graph input declares (float32 or float16). */
function tensorOf(type: TensorType | string, dims: number[], data: Float32Array): TensorData {
  return type === 'tensor(float16)' || type === 'float16'
    ? { type: 'float16', dims, data: toFloat16(data) }
    : { type: 'float32', dims, data };
}

const asFloat32 = (t: TensorData) =>
  t.type === 'float16' ? fromFloat16(t.data as Uint16Array) : (t.data as Float32Array);

/** Token ids as the text encoder declares them (int32 in optimum exports, int64 in some). */
function idsTensor(type: string, rows: Int32Array[]): TensorData {
  const length = rows[0].length;
  const dims = [rows.length, length];
  if (type.includes('int64'))
    return { type: 'int64', dims, data: BigInt64Array.from(rows.flatMap((r) => [...r]).map(BigInt)) };
  const data = new Int32Array(rows.length * length);
  rows.forEach((r, i) => data.set(r, i * length));
  return { type: 'int32', dims, data };
}

/** The timestep for a batch of `batch` samples, in the UNet's declared type. */
function timestepTensor(type: string, rank: number, t: number, batch: number): TensorData {
  const dims = rank === 0 ? [] : [batch];
  const count = rank === 0 ? 1 : batch;
  if (type.includes('int64'))
    return { type: 'int64', dims, data: new BigInt64Array(count).fill(BigInt(Math.round(t))) };
  return tensorOf(type, dims, new Float32Array(count).fill(t));
}

/** Prompt embeddings: [uncond; cond] when classifier-free guidance is on, else [cond]. */
async function encodePrompts(
  p: DiffusionPipeline,
  prompt: string,
  negative: string,
  guided: boolean,
  signal?: AbortSignal,
): Promise<TensorData> {
  const rows = guided
    ? [p.tokenizer.encodePadded(negative), p.tokenizer.encodePadded(prompt)]
    : [p.tokenizer.encodePadded(prompt)];
  const out = await p.textEncoder.runner.run(
    { [p.textEncoder.input.name]: idsTensor(String(p.textEncoder.input.type), rows) },
    signal,
  );
  return out[p.textEncoder.output];
}

/** Encodes the input image to a scaled latent (the latent mean when the graph returns mean and log-variance). */
async function encodeInput(
  ctx: PipelineContext,
  p: DiffusionPipeline,
  input: Buffer,
  width: number,
  height: number,
  signal?: AbortSignal,
): Promise<Float32Array> {
  if (!p.vaeEncoder) throw new JobFailure('image_to_image_not_supported', 'this pipeline has no vae_encoder');
  const image = await decodeImage(input, {
    maxPixels: ctx.config.limits.maxImagePixels,
    width,
    height,
    fit: 'stretch',
  });
  const pixels = imageToTensor(image, {
    width,
    height,
    resize: 'stretch',
    channel_order: 'RGB',
    scale: 2 / 255,
    mean: [1, 1, 1],
    std: [1, 1, 1],
    layout: 'NCHW',
    dtype: 'float32',
  });
  const encoderInput = p.vaeEncoder.runner.inputs[0];
  const out = await p.vaeEncoder.runner.run(
    { [p.vaeEncoder.input]: tensorOf(String(encoderInput.type), pixels.dims, pixels.data as Float32Array) },
    signal,
  );
  const latent = asFloat32(out[p.vaeEncoder.output]);
  const size = 4 * (height / 8) * (width / 8);
  return latent.slice(0, size).map((v) => v * p.scalingFactor);
}

/** Image size: requested, else the input's size rounded down to a multiple of 8, else the model default. */
function outputSize(model: DiffusionModel, params: DiffusionJobParams) {
  const { max_width, max_height } = model.manifest.limits;
  let width = params.width ?? params.input?.width ?? model.pipeline.info.width;
  let height = params.height ?? params.input?.height ?? model.pipeline.info.height;
  const shrink = Math.min(1, max_width / width, max_height / height);
  width = Math.max(8, Math.floor((width * shrink) / 8) * 8);
  height = Math.max(8, Math.floor((height * shrink) / 8) * 8);
  return { width, height };
}

/** Everything one job's images share: sizes, schedule start, prompt embeddings, initial latent. */
interface DiffusionRun {
  p: DiffusionPipeline;
  params: DiffusionJobParams;
  width: number;
  height: number;
  latentDims: number[];
  latentSize: number;
  guided: boolean;
  hidden: TensorData;
  initLatent?: Float32Array;
  start: { startIndex: number; latentTimestep: number };
  signal?: AbortSignal;
  /** Called after every denoising step of any image. */
  onStep: () => Promise<void>;
}

/** The UNet's sample input for one image: the latent once, or twice with guidance. */
const samplesFor = (run: DiffusionRun) => new Float32Array(run.latentSize * (run.guided ? 2 : 1));

/**
 * One UNet call with classifier-free guidance: eps = uncond + g * (cond - uncond). `samples` (from
 * samplesFor) is the image's own and is reused for every step: the runner has copied it by the
 * time the call resolves, and a new array per step is garbage V8 counts as external memory.
 */
async function predictNoise(
  run: DiffusionRun,
  x: Float32Array,
  t: number,
  samples: Float32Array,
): Promise<Float32Array> {
  const { p, latentSize, guided, hidden } = run;
  const { sample, timestep, hidden: hiddenInput, output } = p.unet.io;
  const batch = guided ? 2 : 1;
  for (let b = 0; b < batch; b++) samples.set(x, b * latentSize);
  const out = await p.unet.runner.run(
    {
      [sample.name]: tensorOf(String(sample.type), [batch, ...run.latentDims.slice(1)], samples),
      [timestep.name]: timestepTensor(String(timestep.type), timestep.dims.length, t, batch),
      [hiddenInput.name]:
        hidden.type === 'float16' || !String(hiddenInput.type).includes('16')
          ? hidden
          : tensorOf(String(hiddenInput.type), hidden.dims, asFloat32(hidden)),
    },
    run.signal,
  );
  const predicted = asFloat32(out[output]);
  if (!guided) return predicted;
  const eps = new Float32Array(latentSize);
  for (let k = 0; k < latentSize; k++)
    eps[k] = predicted[k] + run.params.guidance_scale * (predicted[latentSize + k] - predicted[k]);
  return eps;
}

/** Denoises the latent of one seed, decodes and encodes it. */
async function renderImage(run: DiffusionRun, seed: number): Promise<Buffer> {
  const { p, params, signal } = run;
  const rng = createNormalRng(seed);
  const scheduler = createScheduler(params.scheduler, p.schedulerConfig, params.steps);
  const noise = normalArray(rng, run.latentSize);
  let latents = run.initLatent
    ? scheduler.addNoise(run.initLatent, noise, run.start.latentTimestep)
    : noise.map((v) => v * scheduler.initNoiseSigma);
  const samples = samplesFor(run);
  for (let i = run.start.startIndex; i < scheduler.timesteps.length; i++) {
    throwIfAborted(signal);
    const eps = await predictNoise(run, scheduler.scaleModelInput(latents, i), scheduler.timesteps[i], samples);
    latents = scheduler.step(eps, i, latents, rng);
    await run.onStep();
  }
  throwIfAborted(signal);
  const decoderInput = p.vaeDecoder.runner.inputs[0];
  const decoded = await p.vaeDecoder.runner.run(
    {
      [p.vaeDecoder.input]: tensorOf(
        String(decoderInput.type),
        run.latentDims,
        latents.map((v) => v / p.scalingFactor),
      ),
    },
    signal,
  );
  const raw = tensorToImage(asFloat32(decoded[p.vaeDecoder.output]), 0, {
    width: run.width,
    height: run.height,
    layout: 'NCHW',
    channel_order: 'RGB',
    range: [-1, 1],
  });
  return encodeImage(raw, params.output_format);
}

/** What a job's images share, computed once: sizes, schedule start, prompt embeddings, the input's latent. */
async function prepareRun(
  ctx: PipelineContext,
  model: DiffusionModel,
  job: Job<JobPayload>,
  params: DiffusionJobParams,
  signal?: AbortSignal,
): Promise<{ run: DiffusionRun; inputBytes?: Buffer }> {
  const p = model.pipeline;
  const { width, height } = outputSize(model, params);
  const guided = params.guidance_scale > 1;
  const timesteps = createScheduler(params.scheduler, p.schedulerConfig, params.steps).timesteps;
  const start = params.input
    ? img2imgStart(timesteps, params.strength ?? 0.75)
    : { startIndex: 0, latentTimestep: timesteps[0] };
  const stepsToRun = timesteps.length - start.startIndex;
  const report = progressReporter(job, params.n * stepsToRun, ctx.logger, signal);
  let stepsDone = 0;
  const inputBytes = params.input ? await ctx.store.get(params.input.key) : undefined;
  const run: DiffusionRun = {
    p,
    params,
    width,
    height,
    latentDims: [1, 4, height / 8, width / 8],
    latentSize: 4 * (height / 8) * (width / 8),
    guided,
    hidden: await encodePrompts(p, params.prompt, params.negative_prompt, guided, signal),
    initLatent: inputBytes ? await encodeInput(ctx, p, inputBytes, width, height, signal) : undefined,
    start,
    signal,
    onStep: () => report({ step: Math.floor(++stepsDone / params.n), steps: stepsToRun }),
  };
  return { run, inputBytes };
}

/**
 * Runs a diffusion job: encode the prompts once, then for each image denoise its seeded latent
 * (image i uses seed + i) with classifier-free guidance, decode and store it. UNet calls of
 * concurrent images and jobs share batches in the runner. Progress is reported after every step,
 * and a cancel takes effect at the next step.
 */
export async function runDiffusionJob(
  ctx: PipelineContext,
  model: DiffusionModel,
  job: Job<JobPayload>,
  params: DiffusionJobParams,
  signal?: AbortSignal,
): Promise<GenerationResult> {
  const { run, inputBytes } = await prepareRun(ctx, model, job, params, signal);
  const { width, height } = run;
  // Hashed once, and only for a cacheable job.
  let inputHash: string | undefined;
  const hashInput = () => (inputHash ??= inputBytes ? cacheKey(inputBytes) : undefined);
  const images = await Promise.all(
    Array.from({ length: params.n }, async (_, index): Promise<ImageOutput> => {
      const seed = (params.seed + index) >>> 0;
      const cacheId = () =>
        cacheKey(
          'diffusion',
          model.manifest.name,
          params.prompt,
          params.negative_prompt,
          width,
          height,
          params.steps,
          params.guidance_scale,
          params.scheduler,
          params.strength,
          hashInput(),
          params.output_format,
          seed,
        );
      const { bytes, cached } = await rememberImage(
        ctx.cache,
        params.cacheable ?? false,
        jobOwner(job.data),
        cacheId,
        () => renderImage(run, seed),
      );
      throwIfAborted(signal);
      const key = outputKey(String(job.id), index, params.output_format);
      await ctx.store.put(key, bytes);
      return {
        index,
        key,
        width,
        height,
        seed,
        content_type: MIME_OF_FORMAT[params.output_format],
        bytes: bytes.length,
        cached,
      };
    }),
  );
  return { images, cached: images.every((i) => i.cached) };
}
