import path from 'node:path';
import { decodeImage } from '../../src/imaging/image-codec';
import type { ClassifierManifest } from '../../src/models/model-manifest';
import { softmax, imageToTensor, topK } from '../../workers/imaging/image-tensor';
import { concatBatch } from '../../workers/runtime/tensor-data';
import { DEFAULT_CONFIG, openSession, toOrt, type InlineModel } from './inline-model';

const TOP_K = 5;

/** Decode + resize + normalise each photo, one session.run per batch, softmax and top-5 per image. */
export async function loadInlineClassifier(
  manifest: ClassifierManifest,
  dir: string,
  threads = 0,
): Promise<InlineModel> {
  const session = await openSession(path.resolve(dir, manifest.files.model), threads);
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
    describe: `photo -> ${pre.width}x${pre.height} tensor -> top-${TOP_K} labels`,
    async prepare(items) {
      const tensors = await Promise.all(
        items.map(async (item) => {
          if (!item.image) throw new Error('a classifier needs an image');
          const image = await decodeImage(item.image, {
            maxPixels: DEFAULT_CONFIG.limits.maxImagePixels,
            width: pre.width,
            height: pre.height,
            fit: pre.resize,
            shorterSide: pre.resize_shorter_side,
            filter: pre.resize_filter,
          });
          return imageToTensor(image, pre);
        }),
      );
      const input = concatBatch(tensors);
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
