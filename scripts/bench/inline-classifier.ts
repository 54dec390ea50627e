import fs from 'node:fs';
import path from 'node:path';
import { decodeImage, type RawImage } from '../../src/imaging/image-codec';
import type { ClassifierManifest } from '../../src/models/model-manifest';
import { imageToTensor, softmax, topK } from '../../workers/imaging/image-tensor';
import { pixelFeed, pixelInputSpec, withPixelInput } from '../../workers/runtime/pixel-input-graph';
import { concatBatch, type TensorData } from '../../workers/runtime/tensor-data';
import { DEFAULT_CONFIG, openSession, toOrt, type InlineModel } from './inline-model';

const TOP_K = 5;

/**
 * The graph as darkroom's worker runs it: rewritten to take 8-bit pixels and normalise them itself
 * (workers/runtime/pixel-input-graph.ts), or the file as it is where that cannot be done.
 */
function classifierGraph(manifest: ClassifierManifest, file: string): Uint8Array | string {
  try {
    return withPixelInput(fs.readFileSync(file), pixelInputSpec(manifest.inputs.image, manifest.preprocess));
  } catch {
    return file;
  }
}

/** The batch's input: the pixels side by side when the graph takes them, else the normalised tensors. */
function batchInput(images: RawImage[], pre: ClassifierManifest['preprocess'], takesPixels: boolean): TensorData {
  if (!takesPixels) return concatBatch(images.map((image) => imageToTensor(image, pre)));
  return pixelFeed(
    new Uint8Array(Buffer.concat(images.map((image) => image.data))),
    images.length,
    pre.width,
    pre.height,
  );
}

/** Decode + resize each photo (normalised in the graph, as darkroom does), one session.run per batch, softmax and top-5 per image. */
export async function loadInlineClassifier(
  manifest: ClassifierManifest,
  dir: string,
  threads = 0,
): Promise<InlineModel> {
  const graph = classifierGraph(manifest, path.resolve(dir, manifest.files.model));
  const session = await openSession(graph, threads);
  const takesPixels = typeof graph !== 'string';
  const pre = manifest.preprocess;
  const activate = (raw: Float32Array) =>
    manifest.output_activation === 'softmax'
      ? softmax(raw)
      : manifest.output_activation === 'sigmoid'
        ? raw.map((v) => 1 / (1 + Math.exp(-v)))
        : raw;
  return {
    name: manifest.name,
    kind: 'classifier',
    describe: `photo -> ${pre.width}x${pre.height} ${takesPixels ? 'pixels (normalised in the graph)' : 'tensor'} -> top-${TOP_K} labels`,
    async prepare(items) {
      const images = await Promise.all(
        items.map(async (item) => {
          if (!item.image) throw new Error('a classifier needs an image');
          return decodeImage(item.image, {
            maxPixels: DEFAULT_CONFIG.limits.maxImagePixels,
            width: pre.width,
            height: pre.height,
            fit: pre.resize,
            shorterSide: pre.resize_shorter_side,
            filter: pre.resize_filter,
          });
        }),
      );
      const input = batchInput(images, pre, takesPixels);
      return {
        async infer() {
          const out = await session.run({ [manifest.inputs.image]: toOrt(input) }, [manifest.outputs.scores]);
          const scores = out[manifest.outputs.scores].data as Float32Array;
          const per = scores.length / items.length;
          return {
            async finish() {
              return items.map((_, i) => {
                const probabilities = activate(Float32Array.from(scores.subarray(i * per, (i + 1) * per)));
                return topK(probabilities, TOP_K).map((c) => ({ class_index: c, score: probabilities[c] }));
              });
            },
          };
        },
      };
    },
    close: () => session.release(),
  };
}
