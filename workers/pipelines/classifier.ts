import fs from 'node:fs';
import path from 'node:path';
import { jobOwner } from '../../src/auth/api-keys';
import type { RawImage } from '../../src/imaging/image-codec';
import { classifierInputDecode } from '../../src/models/kinds/classifier';
import type { ClassificationResult } from '../../src/jobs/job-contract';
import type { ClassifierManifest } from '../../src/models/model-manifest';
import { cacheKey } from '../cache/result-cache';
import { fromFloat16 } from '../imaging/float16';
import { imageToTensor, softmax, topK } from '../imaging/image-tensor';
import { readInputImage } from '../imaging/input-image';
import type { ModelRunner } from '../runtime/model-runner';
import { pixelFeed, pixelInputSpec, takesPixels } from '../runtime/pixel-input-graph';
import type { TensorData } from '../runtime/tensor-data';
import { startGraphRunner } from './graph-runner';
import type { JobRun, KindPipeline } from './kind-pipeline';
import { progressReporter, throwIfAborted } from './pipeline-context';

/** A loaded classifier: its graph's runner and its labels in class order. */
export interface ClassifierModel {
  kind: 'classifier';
  manifest: ClassifierManifest;
  runner: ModelRunner;
  labels: string[];
  /** The graph takes the 8-bit pixels and normalises them itself (pixel-input-graph.ts). */
  takesPixels: boolean;
}

/** The most labels a request may ask for (top_k's upper bound). */
const MAX_TOP_K = 20;

/** Reads a classifier's labels from the manifest (inline or a lines/synset/json file). */
export function loadLabels(manifest: ClassifierManifest, dir: string): string[] {
  if (Array.isArray(manifest.labels)) return manifest.labels;
  const text = fs.readFileSync(path.resolve(dir, manifest.labels.file), 'utf8');
  switch (manifest.labels.format) {
    case 'json':
      return (JSON.parse(text) as (string | { name: string })[]).map((l) => (typeof l === 'string' ? l : l.name));
    case 'synset':
      // "n01440764 tench, Tinca tinca" -> "tench"
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) =>
          line
            .replace(/^\S+\s+/, '')
            .split(',')[0]
            .trim(),
        );
    case 'lines':
      return text
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
  }
}

/**
 * What the graph takes for one image, in a buffer of the runner's that is given to it (owned):
 * reused, not garbage. The pixels as they are when the graph normalises them (read straight into
 * such a buffer when `inBuffer`), else the tensor.
 */
function inputTensor(
  { manifest, runner, takesPixels }: ClassifierModel,
  image: RawImage,
  inBuffer: boolean,
): TensorData {
  const pre = manifest.preprocess;
  if (!takesPixels) return imageToTensor(image, pre, (length) => runner.allocate('float32', length) as Float32Array);
  if (image.channels !== 3 || image.width !== pre.width || image.height !== pre.height)
    throw new Error(`expected ${pre.width}x${pre.height} RGB, got ${image.width}x${image.height}x${image.channels}`);
  let data = image.data as Uint8Array;
  if (!inBuffer) {
    data = runner.allocate('uint8', image.data.length) as Uint8Array;
    data.set(image.data);
  }
  return pixelFeed(data, 1, image.width, image.height);
}

/** The top 20 labels of one image; cached by model and input, so top_k is applied after. */
async function classifyImage(model: ClassifierModel, image: RawImage, inBuffer: boolean, signal?: AbortSignal) {
  const { manifest, runner, labels } = model;
  throwIfAborted(signal);
  const outputs = await runner.run({ [manifest.inputs.image]: inputTensor(model, image, inBuffer) }, signal, {
    owned: true,
  });
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
}

/** Classifies each staged image; images of one job (and of concurrent jobs) share batches. */
const classify: JobRun<ClassifierModel, 'classification'> = async (ctx, model, job, payload, signal) => {
  const progress = progressReporter(job, payload.inputs.length, ctx.logger, signal);
  const recipe = classifierInputDecode(model.manifest, ctx.config.limits);
  // Staged pixels go straight into one of the runner's buffers when the graph takes pixels.
  const into = model.takesPixels ? (length: number) => model.runner.allocate('uint8', length) as Uint8Array : undefined;
  const predictions = await Promise.all(
    payload.inputs.map(async (input, index) => {
      const { image, content, inBuffer } = await readInputImage(ctx.store, input, recipe, into);
      const { value, cached } = await ctx.cache.remember(
        jobOwner(payload),
        cacheKey('classification', model.manifest.name, content),
        () => classifyImage(model, image, inBuffer, signal),
        (v) => 200 + v.labels.length * 64,
      );
      await progress();
      return { index, labels: value.labels.slice(0, payload.params.top_k), cached };
    }),
  );
  const result: ClassificationResult = { predictions, cached: predictions.every((p) => p.cached) };
  return result;
};

export const classifierPipeline: KindPipeline<ClassifierManifest, ClassifierModel> = {
  async load(entry, startRunner) {
    const { manifest, dir } = entry;
    const runner = await startGraphRunner(
      entry,
      startRunner,
      [manifest.outputs.scores],
      [manifest.inputs.image],
      pixelInputSpec(manifest.inputs.image, manifest.preprocess),
    );
    const pixels = takesPixels(runner.inputs, manifest.inputs.image);
    return { kind: 'classifier', manifest, runner, labels: loadLabels(manifest, dir), takesPixels: pixels };
  },
  runners: (model) => [model.runner],
  jobs: { classification: classify },
};
