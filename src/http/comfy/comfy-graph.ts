import type { GenerationRequest, ImageToImageRequest } from '../request-schemas';
import { schedulerNameSchema } from '../../jobs/job-contract';
import { invalidPrompt, NodeErrorList } from './comfy-node-errors';
import type { ComfyGraph } from './comfy-schemas';
import { COMFY_SEED_MAX, foldSeed } from './comfy-seed';

/**
 * Reads an API-format ComfyUI workflow as one darkroom job. darkroom runs whole pipelines, not
 * nodes, so it accepts the graphs that are one of its jobs: text to image (CheckpointLoaderSimple,
 * CLIPTextEncode, EmptyLatentImage, KSampler, VAEDecode), image to image (LoadImage, VAEEncode
 * into KSampler with denoise < 1) and an image-to-image model (LoadImage, UpscaleModelLoader,
 * ImageUpscaleWithModel), each ending in SaveImage and/or PreviewImage. Anything else is a 400
 * whose node_errors name the node and the reason.
 */

export const OUTPUT_CLASSES = ['SaveImage', 'PreviewImage'] as const;
export const SUPPORTED_CLASSES = new Set<string>([
  'CheckpointLoaderSimple',
  'CLIPTextEncode',
  'EmptyLatentImage',
  'KSampler',
  'VAEDecode',
  'VAEEncode',
  'LoadImage',
  'UpscaleModelLoader',
  'ImageUpscaleWithModel',
  ...OUTPUT_CLASSES,
]);
/** darkroom's schedulers are what ComfyUI calls samplers; its noise schedule is always ComfyUI's `normal`. */
export const COMFY_SAMPLERS = schedulerNameSchema.options;
export const COMFY_SCHEDULERS = ['normal'] as const;

export type ComfyJob =
  | { type: 'generation'; request: GenerationRequest }
  | { type: 'image_to_image'; request: ImageToImageRequest; image: string };

export interface ComfyPlan {
  job: ComfyJob;
  /** The node each request field came from, so darkroom's own checks are reported against it. */
  fieldNodes: Record<string, string>;
  /** The nodes in the order ComfyUI would run them. */
  order: string[];
  /** The node progress is reported on. */
  sampler: string;
  outputs: { node: string; type: 'output' | 'temp' }[];
}

interface ValueRule {
  min?: number;
  max?: number;
  int?: boolean;
  choices?: readonly string[];
}

/** Typed access to node inputs that records what is wrong instead of throwing. */
class GraphReader {
  constructor(
    readonly graph: ComfyGraph,
    readonly errors: NodeErrorList,
  ) {}

  link(from: string, input: string, classes: string[], slot = 0): string | undefined {
    const value = this.graph[from].inputs[input];
    const wanted = classes.join(' or ');
    if (value === undefined || value === null)
      return void this.errors.add(from, 'required_input_missing', `Required input is missing: ${input}`, input);
    if (!Array.isArray(value))
      return void this.errors.add(from, 'invalid_input_type', `${input} must be a link to a ${wanted} node`, input);
    const target = String(value[0]);
    const node = this.graph[target];
    if (!node)
      return void this.errors.add(
        from,
        'bad_linked_input',
        `${input} links to node ${target}, which is missing`,
        input,
      );
    if (!classes.includes(node.class_type) || value[1] !== slot)
      return void this.errors.add(
        from,
        'return_type_mismatch',
        `${input} must be output ${slot} of a ${wanted} node (darkroom runs whole pipelines), not output ${value[1]} of ${node.class_type} ${target}`,
        input,
      );
    return target;
  }

  string(node: string, input: string, rule: ValueRule = {}): string | undefined {
    const value = this.graph[node].inputs[input];
    if (typeof value !== 'string')
      return void this.errors.add(node, 'invalid_input_type', `${input} must be a string value`, input);
    if (rule.choices && !rule.choices.includes(value))
      return void this.errors.add(
        node,
        'value_not_in_list',
        `${input}: '${value}' not in [${rule.choices.map((c) => `'${c}'`).join(', ')}]`,
        input,
      );
    return value;
  }

  number(node: string, input: string, rule: ValueRule, fallback?: number): number | undefined {
    const value = this.graph[node].inputs[input] ?? fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || (rule.int && !Number.isInteger(value)))
      return void this.errors.add(
        node,
        'invalid_input_type',
        `${input} must be ${rule.int ? 'an integer' : 'a number'}`,
        input,
      );
    if (rule.min !== undefined && value < rule.min)
      return void this.errors.add(
        node,
        'value_smaller_than_min',
        `Value ${value} smaller than min of ${rule.min}`,
        input,
      );
    if (rule.max !== undefined && value > rule.max)
      return void this.errors.add(
        node,
        'value_bigger_than_max',
        `Value ${value} bigger than max of ${rule.max}`,
        input,
      );
    return value;
  }
}

/** A model name as ComfyUI clients send it: darkroom's name, perhaps with a checkpoint file extension. */
export const modelNameOf = (name: string | undefined) => name?.replace(/\.(safetensors|ckpt|pt|pth|onnx)$/i, '');

function outputNodes(graph: ComfyGraph, errors: NodeErrorList): string[] {
  for (const [id, node] of Object.entries(graph)) {
    if (!SUPPORTED_CLASSES.has(node.class_type))
      errors.add(
        id,
        'node_not_supported',
        `Node class ${node.class_type} is not one darkroom runs; it runs ${[...SUPPORTED_CLASSES].join(', ')}`,
      );
  }
  return Object.keys(graph).filter((id) => (OUTPUT_CLASSES as readonly string[]).includes(graph[id].class_type));
}

/** The workflow as one darkroom job, or a ComfyValidationError listing every problem found. */
export function readWorkflow(graph: ComfyGraph): ComfyPlan {
  const errors = new NodeErrorList(graph);
  const outputs = outputNodes(graph, errors);
  if (!outputs.length) throw invalidPrompt(errors.withOutputs([]), errors.empty ? 'prompt_no_outputs' : undefined);
  const r = new GraphReader(graph, errors);
  const sources = outputs.map((id) => r.link(id, 'images', ['VAEDecode', 'ImageUpscaleWithModel']));
  const source = sources[0];
  for (const [i, other] of sources.entries())
    if (other && source && other !== source)
      errors.add(outputs[i], 'bad_linked_input', `darkroom runs one image chain per prompt: link images to ${source}`);
  // Read on past unsupported nodes, so one answer lists every problem.
  const plan = source ? planFrom(r, source) : undefined;
  if (!plan || !errors.empty) throw invalidPrompt(errors.withOutputs(outputs));
  return {
    ...plan,
    order: [...plan.order, ...outputs],
    outputs: outputs.map((node) => ({ node, type: graph[node].class_type === 'SaveImage' ? 'output' : 'temp' })),
  };
}

function planFrom(r: GraphReader, source: string): Omit<ComfyPlan, 'outputs'> | undefined {
  if (r.graph[source].class_type === 'ImageUpscaleWithModel') return upscalePlan(r, source);
  const sampler = r.link(source, 'samples', ['KSampler']);
  const vae = r.link(source, 'vae', ['CheckpointLoaderSimple'], 2);
  if (!sampler || !vae) return undefined;
  const plan = samplerPlan(r, sampler, vae);
  return plan && { ...plan, order: [...plan.order, source] };
}

function upscalePlan(r: GraphReader, source: string): Omit<ComfyPlan, 'outputs'> | undefined {
  const loader = r.link(source, 'upscale_model', ['UpscaleModelLoader']);
  const load = r.link(source, 'image', ['LoadImage']);
  const model = loader && r.string(loader, 'model_name');
  const image = load && r.string(load, 'image');
  if (!loader || !load || model === undefined || image === undefined) return undefined;
  return {
    job: { type: 'image_to_image', request: { model: modelNameOf(model), n: 1, output_format: 'png' }, image },
    fieldNodes: { model: loader, image: load },
    order: [load, loader, source],
    sampler: source,
  };
}

function samplerPlan(r: GraphReader, sampler: string, vae: string): Omit<ComfyPlan, 'outputs'> | undefined {
  const checkpoint = r.link(sampler, 'model', ['CheckpointLoaderSimple']);
  const positive = r.link(sampler, 'positive', ['CLIPTextEncode']);
  const negative = r.link(sampler, 'negative', ['CLIPTextEncode']);
  const latent = r.link(sampler, 'latent_image', ['EmptyLatentImage', 'VAEEncode']);
  for (const text of [positive, negative]) if (text) r.link(text, 'clip', ['CheckpointLoaderSimple'], 1);
  const settings = samplerSettings(r, sampler, positive, negative);
  if (!checkpoint || !positive || !negative || !latent || !r.errors.empty) return undefined;
  if (checkpoint !== vae)
    r.errors.add(vae, 'bad_linked_input', 'darkroom decodes with the sampled model: link its vae');
  const model = modelNameOf(r.string(checkpoint, 'ckpt_name'));
  const chain: SamplerChain = {
    sampler,
    latent,
    denoise: settings.denoise,
    common: commonRequest(model, settings),
    fieldNodes: {
      model: checkpoint,
      prompt: positive,
      negative_prompt: negative,
      ...Object.fromEntries(['seed', 'steps', 'guidance_scale', 'scheduler', 'strength'].map((f) => [f, sampler])),
    },
    head: [checkpoint, positive, negative],
  };
  return r.graph[latent].class_type === 'EmptyLatentImage' ? textToImagePlan(r, chain) : imageToImagePlan(r, chain);
}

/** The KSampler's own inputs and its prompts' text (undefined where wrong: the reader records why). */
function samplerSettings(r: GraphReader, sampler: string, positive?: string, negative?: string) {
  return {
    seed: r.number(sampler, 'seed', { int: true, min: 0, max: COMFY_SEED_MAX }),
    steps: r.number(sampler, 'steps', { int: true, min: 1, max: 10_000 }),
    guidance_scale: r.number(sampler, 'cfg', { min: 0, max: 100 }),
    scheduler: r.string(sampler, 'sampler_name', { choices: COMFY_SAMPLERS }),
    schedule: r.string(sampler, 'scheduler', { choices: COMFY_SCHEDULERS }),
    denoise: r.number(sampler, 'denoise', { min: 0, max: 1 }, 1),
    prompt: positive && r.string(positive, 'text'),
    negative_prompt: negative && r.string(negative, 'text'),
  };
}

/** The request fields a text-to-image and an image-to-image job share. */
function commonRequest(model: string | undefined, settings: ReturnType<typeof samplerSettings>) {
  return {
    model,
    prompt: settings.prompt,
    negative_prompt: settings.negative_prompt,
    seed: foldSeed(settings.seed!),
    steps: settings.steps,
    guidance_scale: settings.guidance_scale,
    scheduler: settings.scheduler as (typeof COMFY_SAMPLERS)[number],
    output_format: 'png' as const,
  };
}

/** A KSampler chain read up to its latent input. */
interface SamplerChain {
  sampler: string;
  latent: string;
  denoise: number | undefined;
  common: ReturnType<typeof commonRequest>;
  fieldNodes: Record<string, string>;
  /** The checkpoint and the two prompt nodes. */
  head: string[];
}

/** An EmptyLatentImage latent: a generation job of its size. */
function textToImagePlan(r: GraphReader, c: SamplerChain): Omit<ComfyPlan, 'outputs'> | undefined {
  const { sampler, latent } = c;
  if (c.denoise !== 1)
    r.errors.add(sampler, 'value_not_in_list', 'denoise below 1 needs a VAEEncode latent (image to image)', 'denoise');
  const size = {
    width: r.number(latent, 'width', { int: true, min: 8, max: 16_384 }),
    height: r.number(latent, 'height', { int: true, min: 8, max: 16_384 }),
    n: r.number(latent, 'batch_size', { int: true, min: 1, max: 4096 }, 1),
  };
  if (!r.errors.empty) return undefined;
  return {
    job: { type: 'generation', request: { ...c.common, ...size } as GenerationRequest },
    fieldNodes: { ...c.fieldNodes, width: latent, height: latent, n: latent },
    order: [...c.head, latent, sampler],
    sampler,
  };
}

/** A VAEEncode latent of a LoadImage: an image-to-image job, the denoise its strength. */
function imageToImagePlan(r: GraphReader, c: SamplerChain): Omit<ComfyPlan, 'outputs'> | undefined {
  const { sampler, latent } = c;
  const load = r.link(latent, 'pixels', ['LoadImage']);
  r.link(latent, 'vae', ['CheckpointLoaderSimple'], 2);
  const image = load && r.string(load, 'image');
  if (!load || image === undefined || !r.errors.empty) return undefined;
  return {
    job: { type: 'image_to_image', request: { ...c.common, n: 1, strength: c.denoise }, image },
    fieldNodes: { ...c.fieldNodes, image: load, n: latent },
    order: [...c.head, load, latent, sampler],
    sampler,
  };
}
