import { JOB_TYPES, type JobType } from '../jobs/job-contract';
import type { CatalogEntry } from './catalog-entry';
import type { ModelKind } from './model-manifest';

/**
 * The one place that decides which model a request that names none runs on, per kind of job. The
 * API, its OpenAI route and the batch route resolve through it; the web page and the CLI read its
 * choice from `GET /v1/models` (`default_for`).
 */

/** The variable that names each job's default model. */
export const DEFAULT_MODEL_VARIABLES = {
  generation: 'DEFAULT_GENERATION_MODEL',
  classification: 'DEFAULT_CLASSIFICATION_MODEL',
  image_to_image: 'DEFAULT_IMAGE_TO_IMAGE_MODEL',
} as const satisfies Record<JobType, string>;

/** The model each DEFAULT_*_MODEL variable names, by job (ModelSettings.defaults). */
export type DefaultModelSettings = Partial<Record<JobType, string>>;

/** Model kinds that can run each job, in the order a default is looked for among equals. */
const KINDS_FOR: Record<JobType, ModelKind[]> = {
  generation: ['diffusion', 'generator'],
  classification: ['classifier'],
  image_to_image: ['image_to_image', 'diffusion'],
};

/** Whether `entry` can run `job` (a diffusion pipeline starts from an image only with a VAE encoder). */
export function servesJob({ manifest, pipeline }: CatalogEntry, job: JobType): boolean {
  if (!KINDS_FOR[job].includes(manifest.kind)) return false;
  return job !== 'image_to_image' || manifest.kind !== 'diffusion' || pipeline?.hasVaeEncoder === true;
}

export const isDemo = (entry: CatalogEntry) => entry.manifest.demo === true;

/** With no setting: a real model before a demo, then by kind (KINDS_FOR), then in MODELS_PATH order. */
function preferred(entries: CatalogEntry[], job: JobType): CatalogEntry | undefined {
  const rank = (e: CatalogEntry) => (isDemo(e) ? KINDS_FOR[job].length : 0) + KINDS_FOR[job].indexOf(e.manifest.kind);
  return entries
    .filter((e) => servesJob(e, job))
    .reduce<CatalogEntry | undefined>((best, e) => (best === undefined || rank(e) < rank(best) ? e : best), undefined);
}

const JOB_NOUN: Record<JobType, string> = {
  generation: 'generation',
  classification: 'classification',
  image_to_image: 'image-to-image',
};

/** The model a setting names, or the problem with it (a sentence that names the variable and the choices). */
function configured(entries: CatalogEntry[], job: JobType, name: string): CatalogEntry | string {
  const variable = DEFAULT_MODEL_VARIABLES[job];
  const entry = entries.find((e) => e.manifest.name === name);
  if (entry && servesJob(entry, job)) return entry;
  const choices = entries.filter((e) => servesJob(e, job)).map((e) => e.manifest.name);
  const available = `${JOB_NOUN[job]} models available: ${choices.join(', ') || 'none'}`;
  if (!entry) return `${variable}: no model "${name}" is installed (MODELS_PATH); ${available}`;
  return `${variable}: model "${name}" (${entry.manifest.kind}) cannot run ${JOB_NOUN[job]} jobs; ${available}`;
}

export interface ModelDefaults {
  /** The default model of each job that some model can run. */
  byJob: Partial<Record<JobType, CatalogEntry>>;
  /** Problems with the settings, one sentence each; empty when they are all usable. */
  problems: string[];
}

/** Each job's default: the model its DEFAULT_* variable names, else the preferred one. */
export function chooseDefaults(entries: CatalogEntry[], settings: DefaultModelSettings = {}): ModelDefaults {
  const byJob: ModelDefaults['byJob'] = {};
  const problems: string[] = [];
  for (const job of JOB_TYPES) {
    const name = settings[job];
    const chosen = name === undefined ? preferred(entries, job) : configured(entries, job, name);
    if (typeof chosen === 'string') problems.push(chosen);
    else if (chosen) byJob[job] = chosen;
  }
  return { byJob, problems };
}
