import type { KindEntry } from './kinds/model-kind';
import type { ModelManifest } from './model-manifest';

/** A model found on disk: its validated manifest and the folder its relative paths start from. */
export type CatalogEntry = KindEntry<ModelManifest>;
