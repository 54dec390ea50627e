import { randomInt } from 'node:crypto';
import type { Config } from '../config';
import { AppError } from '../errors';
import type {
  ClassificationParams,
  DiffusionParams,
  GenerationParams,
  ImageToImageParams,
  JobType,
} from '../jobs/job-contract';
import type { CatalogEntry, ModelCatalog } from '../models/model-catalog';
import type { DiffusionManifest, ModelManifest } from '../models/model-manifest';
import { checkJobCost, generationCost } from './job-cost';
import type { GenerationRequest, ImageToImageRequest } from './request-schemas';

type Field = (string | number)[];

const fieldError = (code: string, path: Field, message: string) =>
  new AppError(422, code, message, [{ field: path.join('.'), message }]);

type Kind = ModelManifest['kind'];

/** Finds the named model (or the job's default) and checks it is of a kind that serves this job. */
export function resolveModel(
  catalog: ModelCatalog,
  name: string | undefined,
  job: JobType,
  kinds: Kind[],
  path: Field,
): CatalogEntry {
  const entry = name ? catalog.get(name) : catalog.defaultFor(job);
  const wanted = kinds.join(' or ');
  if (!entry) {
    const known = catalog.entries.filter((e) => kinds.includes(e.manifest.kind)).map((e) => e.manifest.name);
    throw fieldError(
      'unknown_model',
      [...path, 'model'],
      name
        ? `unknown model "${name}"; ${wanted} models here: ${known.join(', ') || 'none'}`
        : `no ${wanted} model is loaded`,
    );
  }
  if (!kinds.includes(entry.manifest.kind)) {
    throw fieldError(
      'wrong_model_kind',
      [...path, 'model'],
      `model "${entry.manifest.name}" is a ${entry.manifest.kind}, not a ${wanted}`,
    );
  }
  return entry;
}

const DIFFUSION_ONLY = ['negative_prompt', 'steps', 'guidance_scale', 'scheduler', 'strength'] as const;

/** Diffusion settings with the model's defaults filled in, within its limits. */
function resolveDiffusionParams(
  req: Partial<DiffusionParams>,
  manifest: DiffusionManifest,
  config: Config,
  path: Field,
): DiffusionParams {
  const steps = req.steps ?? manifest.defaults.steps;
  if (steps > manifest.limits.max_steps)
    throw fieldError(
      'steps_out_of_range',
      [...path, 'steps'],
      `steps must be at most ${manifest.limits.max_steps} for ${manifest.name}`,
    );
  const negative = req.negative_prompt ?? '';
  if (negative.length > config.MAX_PROMPT_LENGTH)
    throw fieldError(
      'prompt_too_long',
      [...path, 'negative_prompt'],
      `negative_prompt has ${negative.length} characters; the limit is ${config.MAX_PROMPT_LENGTH}`,
    );
  return {
    negative_prompt: negative,
    steps,
    guidance_scale: req.guidance_scale ?? manifest.defaults.guidance_scale,
    scheduler: req.scheduler ?? manifest.defaults.scheduler,
  };
}

/** Width and height for a diffusion model: multiples of 8 within its limits. */
function resolveDiffusionSize(
  req: { width?: number; height?: number },
  entry: CatalogEntry,
  manifest: DiffusionManifest,
  path: Field,
) {
  const width = req.width ?? entry.pipeline?.width ?? 512;
  const height = req.height ?? entry.pipeline?.height ?? 512;
  for (const [field, value, max] of [
    ['width', width, manifest.limits.max_width],
    ['height', height, manifest.limits.max_height],
  ] as const) {
    if (value % 8 !== 0)
      throw fieldError(
        'size_not_multiple_of_8',
        [...path, field],
        `${field} must be a multiple of 8 for diffusion models (got ${value})`,
      );
    if (value > max)
      throw fieldError('size_out_of_range', [...path, field], `${field} must be at most ${max} for ${manifest.name}`);
  }
  return { width, height };
}

function rejectFields(req: object, fields: readonly string[], modelName: string, path: Field) {
  const given = fields.filter((f) => (req as Record<string, unknown>)[f] !== undefined);
  if (given.length)
    throw fieldError(
      'parameter_not_supported',
      [...path, given[0]],
      `model "${modelName}" does not take ${given.join(', ')}`,
    );
}

function checkPrompt(prompt: string, config: Config, path: Field) {
  if (prompt.length > config.MAX_PROMPT_LENGTH) {
    throw fieldError(
      'prompt_too_long',
      [...path, 'prompt'],
      `prompt has ${prompt.length} characters; the limit is ${config.MAX_PROMPT_LENGTH}`,
    );
  }
}

// A seed is always recorded so a retried or repeated job reproduces the same bytes.
const pickSeed = (seed: number | undefined) => seed ?? randomInt(0, 2 ** 32 - 1);

/** Validates a generation request against its model and config; fills in size, seed and defaults. */
export function resolveGenerationParams(
  req: GenerationRequest,
  catalog: ModelCatalog,
  config: Config,
  path: Field = [],
): GenerationParams {
  const entry = resolveModel(catalog, req.model, 'generation', ['diffusion', 'generator'], path);
  const model = entry.manifest;
  const prompt = req.prompt ?? '';
  checkPrompt(prompt, config, path);
  const common = { model: model.name, prompt, n: req.n, seed: pickSeed(req.seed), output_format: req.output_format };
  if (model.kind === 'diffusion') {
    return withinCost(
      {
        ...common,
        ...resolveDiffusionSize(req, entry, model, path),
        ...resolveDiffusionParams(req, model, config, path),
      },
      config,
      path,
    );
  }
  if (model.kind !== 'generator') throw new Error('unreachable');
  rejectFields(
    req,
    DIFFUSION_ONLY.filter((f) => f !== 'strength'),
    model.name,
    path,
  );
  if (prompt.trim() && !model.prompt) {
    throw fieldError(
      'prompt_not_supported',
      [...path, 'prompt'],
      `model "${model.name}" is unconditional and takes no prompt`,
    );
  }
  const width = req.width ?? model.output.width;
  const height = req.height ?? model.output.height;
  if (width > model.output.max_width)
    throw fieldError(
      'size_out_of_range',
      [...path, 'width'],
      `width must be at most ${model.output.max_width} for ${model.name}`,
    );
  if (height > model.output.max_height)
    throw fieldError(
      'size_out_of_range',
      [...path, 'height'],
      `height must be at most ${model.output.max_height} for ${model.name}`,
    );
  return withinCost({ ...common, width, height }, config, path);
}

/** The params, once their cost is within MAX_JOB_MEGAPIXEL_STEPS (every generation path, the OpenAI route included, resolves here). */
function withinCost(params: GenerationParams, config: Config, path: Field): GenerationParams {
  checkJobCost(generationCost(params), config, path);
  return params;
}

/** Validates an image-to-image request: graph models take only the image; diffusion models also a prompt and strength. */
export function resolveImageToImageParams(
  req: ImageToImageRequest,
  catalog: ModelCatalog,
  config: Config,
  path: Field = [],
): ImageToImageParams {
  const entry = resolveModel(catalog, req.model, 'image_to_image', ['image_to_image', 'diffusion'], path);
  const model = entry.manifest;
  const common = { model: model.name, n: req.n, seed: pickSeed(req.seed), output_format: req.output_format };
  if (model.kind === 'diffusion') {
    if (!entry.pipeline?.hasVaeEncoder)
      throw fieldError(
        'image_to_image_not_supported',
        [...path, 'model'],
        `diffusion model "${model.name}" has no vae_encoder, so it cannot start from an image`,
      );
    const prompt = req.prompt ?? '';
    checkPrompt(prompt, config, path);
    const size = req.width || req.height ? resolveDiffusionSize(req, entry, model, path) : {};
    return {
      ...common,
      ...size,
      prompt,
      strength: req.strength ?? 0.75,
      ...resolveDiffusionParams(req, model, config, path),
    };
  }
  rejectFields(req, [...DIFFUSION_ONLY, 'prompt', 'width', 'height'], model.name, path);
  // A graph model is deterministic: more than one output would be the same image again.
  if (req.n > 1)
    throw fieldError(
      'parameter_not_supported',
      [...path, 'n'],
      `model "${model.name}" makes one output per input; n must be 1`,
    );
  return common;
}

export function resolveClassificationParams(
  req: { model?: string; top_k: number },
  catalog: ModelCatalog,
  path: Field = [],
): ClassificationParams {
  const { manifest } = resolveModel(catalog, req.model, 'classification', ['classifier'], path);
  return { model: manifest.name, top_k: req.top_k };
}
