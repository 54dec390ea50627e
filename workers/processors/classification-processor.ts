import { jobOwner } from '../../src/auth/api-keys';
import { decodeImage } from '../../src/imaging/image-codec';
import { classificationPayloadSchema, type ClassificationResult } from '../../src/jobs/job-contract';
import { cacheKey } from '../cache/result-cache';
import { imageToTensor, softmax, topK } from '../imaging/image-tensor';
import { fromFloat16 } from '../imaging/float16';
import {
  progressReporter,
  readPayload,
  requireModel,
  throwIfAborted,
  type Processor,
  type ProcessorContext,
} from './processor-context';

/** The most labels a request may ask for (top_k's upper bound). */
const MAX_TOP_K = 20;

/** Classifies each staged image; images of one job (and of concurrent jobs) share batches. */
export function createClassificationProcessor(ctx: ProcessorContext): Processor {
  return async (job, _token, signal) => {
    const payload = readPayload(classificationPayloadSchema, job.data);
    const model = requireModel(ctx.registry, payload.params.model, 'classifier');
    const { manifest, runner, labels } = model;
    const pre = manifest.preprocess;
    const progress = progressReporter(job, payload.inputs.length, ctx.logger);
    /** The top 20 labels of one image; cached by model and image bytes, so top_k is applied after. */
    const classify = async (bytes: Buffer) => {
      const image = await decodeImage(bytes, {
        maxPixels: ctx.config.MAX_IMAGE_PIXELS,
        width: pre.width,
        height: pre.height,
        fit: pre.resize,
        shorterSide: pre.resize_shorter_side,
        filter: pre.resize_filter,
      });
      throwIfAborted(signal);
      const outputs = await runner.run({ [manifest.inputs.image]: imageToTensor(image, pre) }, signal);
      const out = outputs[manifest.outputs.scores];
      const raw =
        out.type === 'float16' ? fromFloat16(out.data as Uint16Array) : Float32Array.from(out.data as Float32Array);
      const scores =
        manifest.output_activation === 'softmax'
          ? softmax(raw)
          : manifest.output_activation === 'sigmoid'
            ? raw.map((v) => 1 / (1 + Math.exp(-v)))
            : raw;
      return {
        labels: topK(scores, MAX_TOP_K).map((c) => ({
          label: labels[c] ?? `class ${c}`,
          class_index: c,
          score: Number(scores[c].toFixed(6)),
        })),
      };
    };
    const predictions = await Promise.all(
      payload.inputs.map(async (input, index) => {
        const bytes = await ctx.store.get(input.key);
        const { value, cached } = await ctx.cache.remember(
          jobOwner(payload),
          cacheKey('classification', manifest.name, bytes),
          () => classify(bytes),
          (v) => 200 + v.labels.length * 64,
        );
        await progress();
        return { index, labels: value.labels.slice(0, payload.params.top_k), cached };
      }),
    );
    const result: ClassificationResult = { predictions, cached: predictions.every((p) => p.cached) };
    return result;
  };
}
