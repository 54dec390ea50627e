import type { LimitSettings } from '../config';
import type { ClassificationParams, GenerationParams, ImageToImageParams, JobType } from '../jobs/job-contract';
import { fieldError, type Field, type JobRequests } from '../models/kinds/model-kind';
import type { CatalogEntry, ModelCatalog } from '../models/model-catalog';
import { jobSupportOf, kindsServing } from '../models/model-kinds';
import type { GenerationRequest, ImageToImageRequest } from './request-schemas';

/**
 * Request parameters checked against the model that will run them. Which kinds serve a job type,
 * and what each kind accepts, is the kind's business (`src/models/kinds/`); this module finds the
 * model and hands the request to its kind.
 */

/** Finds the named model (or the default for this type of job, model-defaults.ts) and checks it serves the job. */
export function resolveModel(
  catalog: ModelCatalog,
  name: string | undefined,
  type: JobType,
  path: Field,
): CatalogEntry {
  const kinds = kindsServing(type);
  const entry = name ? catalog.get(name) : catalog.defaultFor(type);
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

/** Resolves a request of job type `type` with the kind of the model it names (or the default one). */
function resolveJob<T extends JobType>(
  type: T,
  req: JobRequests[T]['request'],
  catalog: ModelCatalog,
  limits: LimitSettings,
  path: Field,
): JobRequests[T]['params'] {
  const entry = resolveModel(catalog, req.model, type, path);
  const support = jobSupportOf(entry.manifest, type);
  // resolveModel only returns models whose kind serves `type`.
  if (!support) throw new Error(`unreachable: ${entry.manifest.kind} does not serve ${type}`);
  return support.resolve(req, entry, limits, path);
}

/** Validates a generation request against its model and config; fills in size, seed and defaults. */
export function resolveGenerationParams(
  req: GenerationRequest,
  catalog: ModelCatalog,
  limits: LimitSettings,
  path: Field = [],
): GenerationParams {
  return resolveJob('generation', req, catalog, limits, path);
}

/** Validates an image-to-image request: graph models take only the image; diffusion models also a prompt and strength. */
export function resolveImageToImageParams(
  req: ImageToImageRequest,
  catalog: ModelCatalog,
  limits: LimitSettings,
  path: Field = [],
): ImageToImageParams {
  return resolveJob('image_to_image', req, catalog, limits, path);
}

export function resolveClassificationParams(
  req: { model?: string; top_k: number },
  catalog: ModelCatalog,
  limits: LimitSettings,
  path: Field = [],
): ClassificationParams {
  return resolveJob('classification', req, catalog, limits, path);
}
