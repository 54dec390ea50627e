import { z } from 'zod';
import { classifierManifestSchema } from './kinds/classifier';
import { diffusionManifestSchema } from './kinds/diffusion';
import { generatorManifestSchema } from './kinds/generator';
import { imageToImageManifestSchema } from './kinds/image-to-image';

/**
 * The JSON manifest (`model.json`) that sits in a model's folder. Adding a model needs a manifest,
 * never code: everything the worker must know to feed and read the graph is declared here.
 * File paths are relative to the manifest's folder. Each kind's fields are in `kinds/<kind>.ts`.
 */
export const modelManifestSchema = z.discriminatedUnion('kind', [
  classifierManifestSchema,
  generatorManifestSchema,
  diffusionManifestSchema,
  imageToImageManifestSchema,
]);

export type ModelManifest = z.infer<typeof modelManifestSchema>;
export type ModelKind = ModelManifest['kind'];
/** The manifest of one kind. */
export type ManifestOf<K extends ModelKind> = Extract<ModelManifest, { kind: K }>;

export { classifierManifestSchema, type ClassifierManifest } from './kinds/classifier';
export { diffusionManifestSchema, type DiffusionManifest } from './kinds/diffusion';
export { generatorManifestSchema, type GeneratorManifest } from './kinds/generator';
export { imageToImageManifestSchema, type ImageToImageManifest } from './kinds/image-to-image';
export {
  batchingSchema,
  imagePreprocessSchema,
  MANIFEST_FILE,
  PIPELINE_INDEX_FILE,
  type ImagePreprocess,
} from './manifest-fields';
