import type { JobType } from '../jobs/job-contract';
import { classifierKind } from './kinds/classifier';
import { diffusionKind } from './kinds/diffusion';
import { generatorKind } from './kinds/generator';
import { imageToImageKind } from './kinds/image-to-image';
import type { JobSupport, ModelKindSpec } from './kinds/model-kind';
import type { ManifestOf, ModelKind, ModelManifest } from './model-manifest';

/**
 * Every model kind the API knows, by name: a kind without an entry here does not compile. This
 * table is the one place the API side tells kinds apart; everything else asks it.
 */
const MODEL_KINDS: { [K in ModelKind]: ModelKindSpec<ManifestOf<K>> } = {
  classifier: classifierKind,
  generator: generatorKind,
  image_to_image: imageToImageKind,
  diffusion: diffusionKind,
};

/** The spec of a manifest's kind, typed for that manifest. */
export function kindOf<M extends ModelManifest>(manifest: M): ModelKindSpec<M> {
  // TypeScript cannot correlate the table's value with the manifest's kind; the table's type does.
  return MODEL_KINDS[manifest.kind] as unknown as ModelKindSpec<M>;
}

/** How a manifest's kind serves job type `type`, or undefined when it does not. */
export function jobSupportOf<M extends ModelManifest, T extends JobType>(
  manifest: M,
  type: T,
): JobSupport<M, T> | undefined {
  return kindOf(manifest).jobs[type];
}

/** The kinds serving job type `type`, the one a request without a model goes to first. */
export function kindsServing(type: JobType): ModelKind[] {
  const kinds = Object.keys(MODEL_KINDS) as ModelKind[];
  const rank = (k: ModelKind) => MODEL_KINDS[k].jobs[type]?.defaultRank ?? Infinity;
  return kinds.filter((k) => MODEL_KINDS[k].jobs[type]).sort((a, b) => rank(a) - rank(b));
}
