import type { ModelCatalog } from '../../models/model-catalog';
import { COMFY_SAMPLERS, COMFY_SCHEDULERS } from './comfy-graph';
import { COMFY_SEED_MAX } from './comfy-seed';

/**
 * GET /object_info: the node classes darkroom runs, in ComfyUI's node definition shape, with
 * darkroom's diffusion models as CheckpointLoaderSimple's `ckpt_name` choices and its
 * image-to-image models as UpscaleModelLoader's `model_name` choices.
 */

type Slot = [unknown] | [unknown, Record<string, unknown>];

function node(
  name: string,
  required: Record<string, Slot>,
  output: string[],
  extra: { category: string; output_node?: boolean; description: string },
) {
  return {
    input: { required },
    input_order: { required: Object.keys(required) },
    output,
    output_is_list: output.map(() => false),
    output_name: output,
    name,
    display_name: name,
    description: extra.description,
    python_module: 'nodes',
    category: extra.category,
    output_node: extra.output_node ?? false,
  };
}

const STRING = (multiline = false): Slot => ['STRING', { multiline, dynamicPrompts: multiline }];
const INT = (dflt: number, min: number, max: number, step = 1): Slot => ['INT', { default: dflt, min, max, step }];
const FLOAT = (dflt: number, min: number, max: number, step = 0.01): Slot => [
  'FLOAT',
  { default: dflt, min, max, step },
];
export function objectInfo(catalog: ModelCatalog, uploads: string[] = []) {
  const names = (kind: string) => catalog.entries.filter((e) => e.manifest.kind === kind).map((e) => e.manifest.name);
  const defs = [...diffusionNodes(names('diffusion')), ...imageNodes(uploads, names('image_to_image'))];
  return Object.fromEntries(defs.map((d) => [d.name, d]));
}

/** The text-to-image graph: checkpoint, prompts, latent, sampler and VAE. */
function diffusionNodes(checkpoints: string[]) {
  return [
    node('CheckpointLoaderSimple', { ckpt_name: [checkpoints] }, ['MODEL', 'CLIP', 'VAE'], {
      category: 'loaders',
      description: 'A darkroom diffusion model (the whole pipeline: darkroom runs it as one job).',
    }),
    node('CLIPTextEncode', { text: STRING(true), clip: ['CLIP'] }, ['CONDITIONING'], {
      category: 'conditioning',
      description: 'The prompt (positive) or negative prompt, by the KSampler input it feeds.',
    }),
    node(
      'EmptyLatentImage',
      { width: INT(512, 8, 16384, 8), height: INT(512, 8, 16384, 8), batch_size: INT(1, 1, 16) },
      ['LATENT'],
      { category: 'latent', description: "Output size and count; the model's limits apply." },
    ),
    node(
      'KSampler',
      {
        model: ['MODEL'],
        seed: INT(0, 0, COMFY_SEED_MAX - 1),
        steps: INT(20, 1, 10000),
        cfg: FLOAT(8, 0, 100, 0.1),
        sampler_name: [[...COMFY_SAMPLERS]],
        scheduler: [[...COMFY_SCHEDULERS]],
        positive: ['CONDITIONING'],
        negative: ['CONDITIONING'],
        latent_image: ['LATENT'],
        denoise: FLOAT(1, 0, 1),
      },
      ['LATENT'],
      {
        category: 'sampling',
        description: "darkroom's schedulers by their ComfyUI sampler names; seeds are folded into 32 bits.",
      },
    ),
    node('VAEDecode', { samples: ['LATENT'], vae: ['VAE'] }, ['IMAGE'], {
      category: 'latent',
      description: 'Decodes the sampled latent.',
    }),
    node('VAEEncode', { pixels: ['IMAGE'], vae: ['VAE'] }, ['LATENT'], {
      category: 'latent',
      description: 'Image to image: the KSampler denoise is the strength.',
    }),
  ];
}

/** Uploaded images, image-to-image models, and the output nodes. */
function imageNodes(uploads: string[], imageModels: string[]) {
  return [
    node('LoadImage', { image: [uploads, { image_upload: true }] }, ['IMAGE', 'MASK'], {
      category: 'image',
      description: 'An image uploaded with POST /upload/image by the same key.',
    }),
    node('UpscaleModelLoader', { model_name: [imageModels] }, ['UPSCALE_MODEL'], {
      category: 'loaders',
      description: 'A darkroom image-to-image model (super-resolution, style transfer).',
    }),
    node('ImageUpscaleWithModel', { upscale_model: ['UPSCALE_MODEL'], image: ['IMAGE'] }, ['IMAGE'], {
      category: 'image/upscaling',
      description: 'Runs the image-to-image model on the image.',
    }),
    node('SaveImage', { images: ['IMAGE'], filename_prefix: ['STRING', { default: 'ComfyUI' }] }, [], {
      category: 'image',
      output_node: true,
      description: 'Keeps the images with the job (retention applies); GET /view serves them.',
    }),
    node('PreviewImage', { images: ['IMAGE'] }, [], {
      category: 'image',
      output_node: true,
      description: 'As SaveImage, listed with type "temp".',
    }),
  ];
}
