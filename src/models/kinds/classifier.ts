import { z } from 'zod';
import type { LimitSettings } from '../../config';
import type { DecodeOptions } from '../../imaging/image-codec';
import { baseManifestFields, imagePreprocessSchema } from '../manifest-fields';
import { requireFiles, type ModelKindSpec } from './model-kind';

/** Image classifiers: one image in, one score per label out. */

const labelsSchema = z.union([
  z.array(z.string()).min(1),
  z.object({
    file: z.string(),
    /** `lines`: one label per line. `synset`: "n01440764 tench, Tinca tinca" -> "tench". */
    format: z.enum(['lines', 'synset', 'json']).default('lines'),
  }),
]);

export const classifierManifestSchema = z.object({
  ...baseManifestFields,
  kind: z.literal('classifier'),
  files: z.object({ model: z.string() }),
  inputs: z.object({ image: z.string() }),
  outputs: z.object({ scores: z.string() }),
  preprocess: imagePreprocessSchema,
  labels: labelsSchema,
  /** `softmax` when the graph returns logits, `none` when it already returns probabilities. */
  output_activation: z.enum(['softmax', 'sigmoid', 'none']).default('softmax'),
});
export type ClassifierManifest = z.infer<typeof classifierManifestSchema>;

/** An upload as the classifier takes it: resized and cropped as its preprocess says. */
export function classifierInputDecode(
  { preprocess: pre }: ClassifierManifest,
  limits: Pick<LimitSettings, 'maxImagePixels'>,
): DecodeOptions {
  return {
    maxPixels: limits.maxImagePixels,
    width: pre.width,
    height: pre.height,
    fit: pre.resize,
    shorterSide: pre.resize_shorter_side,
    filter: pre.resize_filter,
  };
}

export const classifierKind: ModelKindSpec<ClassifierManifest> = {
  seedless: true,
  inspect: (manifest, dir, file) => requireFiles(manifest.files, dir, file),
  describe: ({ manifest }) => ({
    job_type: 'classification',
    input: { width: manifest.preprocess.width, height: manifest.preprocess.height },
    parameters: { top_k: { min: 1, max: 20, default: 5 } },
  }),
  inputDecode: classifierInputDecode,
  jobs: {
    classification: {
      defaultRank: 0,
      resolve: (req, { manifest }) => ({ model: manifest.name, top_k: req.top_k }),
    },
  },
};
