import fs from 'node:fs';
import path from 'node:path';
import { PIPELINE_INDEX_FILE } from '../manifest-fields';

/** What the files of a diffusion pipeline folder say about it. */
export interface PipelineInfo {
  dir: string;
  hasVaeEncoder: boolean;
  /** Default image size: the UNet's sample_size x 8. */
  width: number;
  height: number;
}

/** Files every optimum text-to-image export has (relative to the folder of model_index.json). */
export const PIPELINE_FILES = [
  'text_encoder/model.onnx',
  'unet/model.onnx',
  'vae_decoder/model.onnx',
  'tokenizer/vocab.json',
  'tokenizer/merges.txt',
  'scheduler/scheduler_config.json',
];

/**
 * Reads the pipeline folder `root`: a problem (for the manifest `file`) when a file is missing,
 * else what it holds. `size` overrides the default image size the UNet implies.
 */
export function readPipeline(
  root: string,
  size: { width?: number; height?: number },
  file: string,
): { problems: string[]; pipeline?: PipelineInfo } {
  const missing = [PIPELINE_INDEX_FILE, ...PIPELINE_FILES].filter((f) => !fs.existsSync(path.join(root, f)));
  if (missing.length) return { problems: [`${file}: the pipeline folder ${root} lacks ${missing.join(', ')}`] };
  let sampleSize = 64;
  try {
    const unet = JSON.parse(fs.readFileSync(path.join(root, 'unet', 'config.json'), 'utf8')) as {
      sample_size?: number | number[];
    };
    sampleSize = Array.isArray(unet.sample_size) ? unet.sample_size[0] : (unet.sample_size ?? sampleSize);
  } catch {
    // No unet/config.json: SD 1.x's 64 latent pixels (512 px images).
  }
  return {
    problems: [],
    pipeline: {
      dir: root,
      hasVaeEncoder: fs.existsSync(path.join(root, 'vae_encoder', 'model.onnx')),
      width: size.width ?? sampleSize * 8,
      height: size.height ?? sampleSize * 8,
    },
  };
}
