import { encodeImage, resizeRaw, type RawImage } from '../../src/imaging/image-codec';
import { MIME_OF_FORMAT } from '../../src/jobs/job-contract';
import { JobFailure } from '../../src/jobs/job-failure';
import { imageToImageInputDecode } from '../../src/models/kinds/image-to-image';
import type { ImageToImageManifest } from '../../src/models/model-manifest';
import { outputKey } from '../../src/storage/blob-store';
import { fromFloat16 } from '../imaging/float16';
import { imageToTensorInStrips, inStrips, tensorToImageInStrips } from '../imaging/image-strips';
import { readInputImage } from '../imaging/input-image';
import { lumaPlane, replaceLuma } from '../imaging/luma-chroma';
import type { ModelRunner } from '../runtime/model-runner';
import { pixelFeed, pixelInputSpec, takesPixels } from '../runtime/pixel-input-graph';
import type { TensorData } from '../runtime/tensor-data';
import { startGraphRunner } from './graph-runner';
import type { JobRun, KindPipeline } from './kind-pipeline';
import { progressReporter, throwIfAborted } from './pipeline-context';

/** A loaded image -> image graph (style transfer, super-resolution). */
export interface ImageGraphModel {
  kind: 'image_to_image';
  manifest: ImageToImageManifest;
  runner: ModelRunner;
  /** An RGB graph that takes the 8-bit pixels and normalises them itself (pixel-input-graph.ts). */
  takesPixels: boolean;
}

/** Width x height with the aspect ratio of `from` and its longer side equal to `longer`. */
export function restoredSize(
  from: { width: number; height: number },
  longer: number,
): { width: number; height: number } {
  if (from.width >= from.height)
    return { width: longer, height: Math.max(1, Math.round((longer * from.height) / from.width)) };
  return { width: Math.max(1, Math.round((longer * from.width) / from.height)), height: longer };
}

/**
 * The graph's input: the pixels as they are when the graph normalises them, else three channels as
 * the manifest orders and normalises them, or luma only.
 */
async function inputTensor(image: RawImage, { manifest, takesPixels }: ImageGraphModel): Promise<TensorData> {
  const pre = manifest.preprocess;
  const { width, height } = image;
  if (takesPixels) return pixelFeed(new Uint8Array(image.data), 1, width, height);
  if (pre.color === 'rgb')
    return imageToTensorInStrips(image, { ...pre, width, height, resize: 'stretch', layout: 'NCHW', dtype: 'float32' });
  const data = new Float32Array(width * height);
  await inStrips(width, height, (from, to) => lumaPlane(image, pre.scale, pre.mean[0], pre.std[0], data, { from, to }));
  return { type: 'float32', dims: [1, 1, height, width], data };
}

/** The graph's output as 8-bit RGB; a luma output takes its chroma from a bicubic upscale of the input. */
async function outputImage(out: TensorData, input: RawImage, manifest: ImageToImageManifest): Promise<RawImage> {
  const channels = manifest.preprocess.color === 'luma' ? 1 : 3;
  const width = input.width * manifest.output.scale_factor;
  const height = input.height * manifest.output.scale_factor;
  const expected = [1, channels, height, width];
  if (out.dims.join('x') !== expected.join('x')) {
    throw new JobFailure(
      'model_output_mismatch',
      `model "${manifest.name}" returned ${out.dims.join('x')}; its manifest implies ${expected.join('x')}`,
    );
  }
  const data = out.type === 'float16' ? fromFloat16(out.data as Uint16Array) : (out.data as Float32Array);
  const { range, channel_order } = manifest.output;
  if (channels === 3) return tensorToImageInStrips(data, 0, { width, height, layout: 'NCHW', channel_order, range });
  const chroma = await resizeRaw(input, width, height, 'cubic');
  const rgb = Buffer.allocUnsafe(width * height * 3); // every byte is written below
  await inStrips(width, height, (from, to) => replaceLuma(chroma, data, range, rgb, { from, to }));
  return { data: rgb, width, height, channels: 3 };
}

/**
 * Runs an image -> image graph (style transfer, super-resolution) on the job's one input image.
 * Graphs are deterministic, so there is one output and no seed.
 */
const runImageGraph: JobRun<ImageGraphModel, 'image_to_image'> = async (ctx, model, job, payload, signal) => {
  const { manifest, runner } = model;
  const pre = manifest.preprocess;
  const { input, params } = payload;
  const progress = progressReporter(job, 2, ctx.logger, signal);
  if (input.width * input.height > pre.max_input_pixels) {
    throw new JobFailure(
      'image_too_large',
      `the image has ${input.width}x${input.height} pixels; model "${manifest.name}" takes at most ${pre.max_input_pixels}`,
    );
  }
  const fixed = pre.width && pre.height ? { width: pre.width, height: pre.height } : undefined;
  const { image } = await readInputImage(ctx.store, input, imageToImageInputDecode(manifest, ctx.config.limits));
  throwIfAborted(signal);

  const outputs = await runner.run({ [manifest.inputs.image]: await inputTensor(image, model) }, signal);
  throwIfAborted(signal);
  const raw = await outputImage(outputs[manifest.outputs.image], image, manifest);
  await progress();
  throwIfAborted(signal);

  // A stretched fixed-size input gets its proportions back; a cover crop already has the graph's.
  const size =
    fixed && pre.resize === 'stretch' && manifest.output.restore_aspect
      ? restoredSize(input, Math.max(raw.width, raw.height))
      : raw;
  const format = params.output_format;
  const encoded = await encodeImage(raw, format, { width: size.width, height: size.height, kernel: 'lanczos3' });
  throwIfAborted(signal);
  const key = outputKey(String(job.id), 0, format);
  await ctx.store.put(key, encoded);
  await progress();
  return {
    images: [
      {
        index: 0,
        key,
        width: size.width,
        height: size.height,
        content_type: MIME_OF_FORMAT[format],
        bytes: encoded.length,
      },
    ],
  };
};

export const imageToImagePipeline: KindPipeline<ImageToImageManifest, ImageGraphModel> = {
  async load(entry, startRunner) {
    const { manifest } = entry;
    const pre = manifest.preprocess;
    const image = manifest.inputs.image;
    const runner = await startGraphRunner(
      entry,
      startRunner,
      [manifest.outputs.image],
      [image],
      pre.color === 'rgb' ? pixelInputSpec(image, { ...pre, layout: 'NCHW' }) : undefined,
    );
    return { kind: 'image_to_image', manifest, runner, takesPixels: takesPixels(runner.inputs, image) };
  },
  runners: (model) => [model.runner],
  jobs: { image_to_image: runImageGraph },
};
