import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildClipVocabulary, mergesTxt, vocabJson } from './clip-bpe-vocabulary';
import { pipelineConfigs } from './pipeline-configs';
import { PROMPT_WORDS } from './prompt-words';
import { buildTextEncoderModel } from './text-encoder-graph';
import { buildUnetModel } from './unet-graph';
import { buildVaeDecoderModel } from './vae-decoder-graph';
import { buildVaeEncoderModel } from './vae-encoder-graph';

/**
 * tiny-diffusion: a Stable-Diffusion pipeline in the Hugging Face optimum ONNX export layout
 * (model_index.json, tokenizer/, text_encoder/, unet/, vae_decoder/, vae_encoder/, scheduler/),
 * small enough to generate at build time. Its UNet denoises exactly towards a prompt-dependent
 * latent, so a correct generic SD implementation produces a predictable, pleasant picture.
 */

/** Bump when any graph, weight or config changes, so cached folders are rebuilt. */
export const TINY_DIFFUSION_VERSION = 'tiny-diffusion/2';

/** Writes the whole pipeline folder under `outDir` (deterministic bytes). */
export async function buildTinyDiffusionPipeline(outDir: string): Promise<void> {
  const vocabulary = buildClipVocabulary(PROMPT_WORDS);
  const files: Record<string, string | Uint8Array> = {
    'tokenizer/vocab.json': vocabJson(vocabulary.vocab),
    'tokenizer/merges.txt': mergesTxt(vocabulary.merges),
    'text_encoder/model.onnx': buildTextEncoderModel(vocabulary),
    'unet/model.onnx': buildUnetModel(),
    'vae_decoder/model.onnx': buildVaeDecoderModel(),
    'vae_encoder/model.onnx': buildVaeEncoderModel(),
  };
  for (const [file, json] of Object.entries(pipelineConfigs(vocabulary)))
    files[file] = `${JSON.stringify(json, null, 2)}\n`;

  for (const [file, contents] of Object.entries(files)) {
    const target = path.join(outDir, file);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, contents);
  }
}
