import type { ModelManifest } from './model-manifest';

/** What the files of a diffusion pipeline folder say about it. */
export interface PipelineInfo {
  dir: string;
  hasVaeEncoder: boolean;
  /** Default image size: the UNet's sample_size x 8. */
  width: number;
  height: number;
}

/** A model found on disk: its validated manifest and the folder its relative paths start from. */
export interface CatalogEntry {
  manifest: ModelManifest;
  dir: string;
  pipeline?: PipelineInfo;
}
