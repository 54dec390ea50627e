import fs from 'node:fs';
import path from 'node:path';
import type { LimitSettings } from '../../config';
import { AppError } from '../../errors';
import type { DecodeOptions } from '../../imaging/image-codec';
import type { GenerationRequest, ImageToImageRequest } from '../../http/request-schemas';
import type { ClassificationParams, GenerationParams, ImageToImageParams, JobType } from '../../jobs/job-contract';
import type { PipelineInfo } from './pipeline-folder';

/**
 * What the API side knows about one model kind (classifier, generator, ...): how to check its
 * folder, how to describe it to clients, and which jobs it serves with which parameters. Each
 * kind is one module in this folder, registered in `model-kinds.ts`.
 */

/** A model found on disk, typed by its kind's manifest. */
export interface KindEntry<M> {
  manifest: M;
  dir: string;
  /** Set for diffusion models: what their pipeline folder holds. */
  pipeline?: PipelineInfo;
}

/** Path of a request field, for error details (`requests.2.model`). */
export type Field = (string | number)[];

/** The request and the resolved job parameters of each job type a model may serve. */
export interface JobRequests {
  generation: { request: GenerationRequest; params: GenerationParams };
  image_to_image: { request: ImageToImageRequest; params: ImageToImageParams };
  classification: { request: { model?: string; top_k: number }; params: ClassificationParams };
}

/** How a kind serves one job type. */
export interface JobSupport<M, T extends JobType> {
  /** When a request names no model, the serving kind of lowest rank that has a model takes it. */
  defaultRank: number;
  /** Checks a request against the model and config; fills in defaults. Throws 422s on request fields. */
  resolve(
    req: JobRequests[T]['request'],
    entry: KindEntry<M>,
    limits: LimitSettings,
    path: Field,
  ): JobRequests[T]['params'];
}

export interface ModelKindSpec<M> {
  /** Output depends on the inputs alone (no seed), so results may be cached whatever the request. */
  seedless: boolean;
  /** Checks the model folder beyond its manifest; a pipeline's settings when the kind reads them. */
  inspect(manifest: M, dir: string, file: string): { problems: string[]; pipeline?: PipelineInfo };
  /** The kind-specific part of the public model description (`GET /v1/models`). */
  describe(entry: KindEntry<M>): Record<string, unknown>;
  jobs: { [T in JobType]?: JobSupport<M, T> };
  /**
   * How the API decodes an upload for this model, so that it stages pixels and no worker decodes
   * the upload again (docs/benchmarks.md, "Where CPU time goes"). Absent: workers decode.
   */
  inputDecode?(manifest: M, limits: Pick<LimitSettings, 'maxImagePixels'>): DecodeOptions;
}

/** `inspect` for single-graph kinds: every file the manifest names must exist. */
export function requireFiles(files: Record<string, string>, dir: string, file: string): { problems: string[] } {
  const missing = Object.values(files).filter((f) => !fs.existsSync(path.resolve(dir, f)));
  return { problems: missing.length ? [`${file}: missing model file(s) ${missing.join(', ')}`] : [] };
}

/** A 422 on one request field. */
export const fieldError = (code: string, path: Field, message: string) =>
  new AppError(422, code, message, [{ field: path.join('.'), message }]);
