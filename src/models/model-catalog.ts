import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config';
import { JOB_TYPES, type JobType } from '../jobs/job-contract';
import type { CatalogEntry, PipelineInfo } from './catalog-entry';
import { chooseDefaults, isDemo, type DefaultModelSettings } from './model-defaults';
import { MANIFEST_FILE, modelManifestSchema, PIPELINE_INDEX_FILE, type DiffusionManifest } from './model-manifest';

export type { CatalogEntry, PipelineInfo } from './catalog-entry';

/** Files every optimum text-to-image export has (relative to the folder of model_index.json). */
export const PIPELINE_FILES = [
  'text_encoder/model.onnx',
  'unet/model.onnx',
  'vae_decoder/model.onnx',
  'tokenizer/vocab.json',
  'tokenizer/merges.txt',
  'scheduler/scheduler_config.json',
];

function readPipeline(
  manifest: DiffusionManifest,
  dir: string,
  problems: string[],
  file: string,
): PipelineInfo | undefined {
  const root = path.resolve(dir, manifest.pipeline);
  const missing = [PIPELINE_INDEX_FILE, ...PIPELINE_FILES].filter((f) => !fs.existsSync(path.join(root, f)));
  if (missing.length) {
    problems.push(`${file}: the pipeline folder ${root} lacks ${missing.join(', ')}`);
    return undefined;
  }
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
    dir: root,
    hasVaeEncoder: fs.existsSync(path.join(root, 'vae_encoder', 'model.onnx')),
    width: manifest.defaults.width ?? sampleSize * 8,
    height: manifest.defaults.height ?? sampleSize * 8,
  };
}

export interface ModelCatalog {
  entries: CatalogEntry[];
  get(name: string): CatalogEntry | undefined;
  /** The model used when a request for `job` names none (model-defaults.ts decides). */
  defaultFor(job: JobType): CatalogEntry | undefined;
  /** The jobs `entry` is the default model of. */
  defaultJobsOf(entry: CatalogEntry): JobType[];
}

export class ModelCatalogError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid model manifests:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ModelCatalogError';
  }
}

const isModelDir = (dir: string) =>
  fs.existsSync(path.join(dir, MANIFEST_FILE)) || fs.existsSync(path.join(dir, PIPELINE_INDEX_FILE));

/** Folders holding a manifest or a pipeline: each root itself, or its direct subfolders. */
function manifestDirs(root: string): string[] {
  if (isModelDir(root)) return [root];
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && isModelDir(path.join(root, e.name)))
    .map((e) => path.join(root, e.name))
    .sort();
}

/** A bare optimum export is served under its folder's name with default settings. */
function readManifestJson(dir: string): unknown {
  const file = path.join(dir, MANIFEST_FILE);
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  return {
    name: path
      .basename(dir)
      .toLowerCase()
      .replace(/[^a-z0-9._-]/g, '-'),
    kind: 'diffusion',
  };
}

/**
 * Scans `roots` for model manifests; every problem is reported at once. A root in `mayBeMissing`
 * (MODELS_DIR, which exists only once a model was pulled) is skipped when absent. A DEFAULT_*
 * setting that names no suitable model is a ConfigError.
 */
export function loadModelCatalog(
  roots: string[],
  mayBeMissing: string[] = [],
  defaults: DefaultModelSettings = {},
): ModelCatalog {
  const problems: string[] = [];
  const entries: CatalogEntry[] = [];
  for (const root of roots) {
    if (!fs.existsSync(root) && !mayBeMissing.includes(root)) problems.push(`${root}: models folder does not exist`);
    for (const dir of manifestDirs(root)) {
      const file = path.join(dir, MANIFEST_FILE);
      let json: unknown;
      try {
        json = readManifestJson(dir);
      } catch (err) {
        problems.push(`${file}: ${(err as Error).message}`);
        continue;
      }
      const parsed = modelManifestSchema.safeParse(json);
      if (!parsed.success) {
        problems.push(...parsed.error.issues.map((i) => `${file}: ${i.path.join('.')}: ${i.message}`));
        continue;
      }
      const manifest = parsed.data;
      const files = 'files' in manifest ? Object.values(manifest.files) : [];
      const missing = files.filter((f) => !fs.existsSync(path.resolve(dir, f)));
      if (missing.length) problems.push(`${file}: missing model file(s) ${missing.join(', ')}`);
      if (entries.some((e) => e.manifest.name === manifest.name))
        problems.push(`${file}: duplicate model name ${manifest.name}`);
      const pipeline = manifest.kind === 'diffusion' ? readPipeline(manifest, dir, problems, file) : undefined;
      entries.push({ manifest, dir, pipeline });
    }
  }
  if (problems.length) throw new ModelCatalogError(problems);
  const chosen = chooseDefaults(entries, defaults);
  if (chosen.problems.length) throw new ConfigError(chosen.problems);
  const byName = new Map(entries.map((e) => [e.manifest.name, e]));
  return {
    entries,
    get: (name) => byName.get(name),
    defaultFor: (job) => chosen.byJob[job],
    defaultJobsOf: (entry) => JOB_TYPES.filter((job) => chosen.byJob[job] === entry),
  };
}

const generationParameters = (prompt: boolean, width: number, height: number, maxWidth: number, maxHeight: number) => ({
  prompt: { accepted: prompt },
  n: { min: 1, max: 16, default: 1 },
  width: { min: 8, max: maxWidth, default: width },
  height: { min: 8, max: maxHeight, default: height },
  seed: { min: 0, max: 2 ** 32 - 1 },
  output_format: ['png', 'webp', 'jpeg'],
});

/** The public description of a model, whether it is a demo and a default, and the request parameters it accepts. */
export function describeModel(entry: CatalogEntry, defaultFor: JobType[] = []): Record<string, unknown> {
  const { manifest, pipeline } = entry;
  const base = {
    name: manifest.name,
    kind: manifest.kind,
    description: manifest.description,
    demo: isDemo(entry),
    default: defaultFor.length > 0,
    default_for: defaultFor,
    max_batch_size: manifest.batching.max_batch_size,
  };
  switch (manifest.kind) {
    case 'classifier':
      return {
        ...base,
        job_type: 'classification',
        input: { width: manifest.preprocess.width, height: manifest.preprocess.height },
        parameters: { top_k: { min: 1, max: 20, default: 5 } },
      };
    case 'generator':
      return {
        ...base,
        job_type: 'generation',
        parameters: generationParameters(
          Boolean(manifest.prompt),
          manifest.output.width,
          manifest.output.height,
          manifest.output.max_width,
          manifest.output.max_height,
        ),
      };
    case 'diffusion': {
      const { defaults, limits } = manifest;
      return {
        ...base,
        job_type: 'generation',
        image_to_image: pipeline?.hasVaeEncoder ?? false,
        parameters: {
          ...generationParameters(
            true,
            pipeline?.width ?? 512,
            pipeline?.height ?? 512,
            limits.max_width,
            limits.max_height,
          ),
          negative_prompt: { accepted: true },
          steps: { min: 1, max: limits.max_steps, default: defaults.steps },
          guidance_scale: { min: 0, max: 50, default: defaults.guidance_scale },
          scheduler: { values: ['euler', 'euler_ancestral', 'ddim', 'lcm'], default: defaults.scheduler },
          ...(pipeline?.hasVaeEncoder ? { strength: { min: 0, max: 1, default: 0.75 } } : {}),
        },
      };
    }
    case 'image_to_image':
      return {
        ...base,
        job_type: 'image_to_image',
        input: {
          width: manifest.preprocess.width ?? 'any',
          height: manifest.preprocess.height ?? 'any',
          color: manifest.preprocess.color,
          max_pixels: manifest.preprocess.max_input_pixels,
        },
        output: { scale_factor: manifest.output.scale_factor },
        parameters: { output_format: ['png', 'webp', 'jpeg'] },
      };
  }
}
