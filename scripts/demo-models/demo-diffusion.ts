import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { diffusionManifestSchema, MANIFEST_FILE, PIPELINE_INDEX_FILE } from '../../src/models/model-manifest';
import { VERSION_STAMP_FILE, writeAtomically } from './model-folder-writer';
import { buildTinyDiffusionPipeline, TINY_DIFFUSION_VERSION } from './tiny-diffusion/build-tiny-diffusion-pipeline';

export const DIFFUSION_FOLDER = 'demo-diffusion';
const VERSION = `${TINY_DIFFUSION_VERSION}+manifest/1`;

/** The demo text-to-image model: the tiny optimum-layout pipeline plus a manifest with its defaults. */
export const diffusionManifest = diffusionManifestSchema.parse({
  name: DIFFUSION_FOLDER,
  kind: 'diffusion',
  description:
    'Demo text-to-image: a tiny Stable-Diffusion pipeline in the optimum ONNX layout (CLIP-style tokenizer, text encoder, UNet, VAE) whose UNet is an exact denoiser for a prompt-dependent scene. Built by scripts/build-demo-models.ts.',
  defaults: { steps: 20, guidance_scale: 7.5, scheduler: 'euler' },
  limits: { max_width: 1024, max_height: 1024, max_steps: 150 },
  batching: { max_batch_size: 16, max_queue_delay_ms: 2 },
});

/** Writes models/demo/demo-diffusion unless its stamp says it is current; returns the folder or null. */
export async function writeDiffusionFolder(outDir: string): Promise<string | null> {
  const folder = path.join(outDir, DIFFUSION_FOLDER);
  const stamp = path.join(folder, VERSION_STAMP_FILE);
  if (
    existsSync(stamp) &&
    existsSync(path.join(folder, PIPELINE_INDEX_FILE)) &&
    (await readFile(stamp, 'utf8')).trim() === VERSION
  )
    return null;
  await mkdir(folder, { recursive: true });
  await buildTinyDiffusionPipeline(folder);
  await writeAtomically(path.join(folder, MANIFEST_FILE), `${JSON.stringify(diffusionManifest, null, 2)}\n`);
  await writeAtomically(stamp, `${VERSION}\n`);
  return folder;
}
