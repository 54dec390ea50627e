import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config';
import { JOB_TYPES, type JobType } from '../jobs/job-contract';
import type { CatalogEntry } from './catalog-entry';
import { chooseDefaults, isDemo, type DefaultModelSettings } from './model-defaults';
import { kindOf } from './model-kinds';
import { MANIFEST_FILE, modelManifestSchema, PIPELINE_INDEX_FILE } from './model-manifest';

export type { CatalogEntry } from './catalog-entry';

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
      const inspected = kindOf(manifest).inspect(manifest, dir, file);
      problems.push(...inspected.problems);
      if (entries.some((e) => e.manifest.name === manifest.name))
        problems.push(`${file}: duplicate model name ${manifest.name}`);
      entries.push({ manifest, dir, pipeline: inspected.pipeline });
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

/** The public description of a model, whether it is a demo and a default, and the request parameters it accepts. */
export function describeModel(entry: CatalogEntry, defaultFor: JobType[] = []): Record<string, unknown> {
  const { manifest } = entry;
  return {
    name: manifest.name,
    kind: manifest.kind,
    description: manifest.description,
    demo: isDemo(entry),
    default: defaultFor.length > 0,
    default_for: defaultFor,
    max_batch_size: manifest.batching.max_batch_size,
    ...kindOf(manifest).describe(entry),
  };
}
