import type { Request } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors';
import { newJobId } from '../../jobs/job-contract';
import type { AppDeps } from '../app-deps';
import { principalOf } from '../api-key-auth';
import { stageImages } from '../image-input';
import { checkJobCost, imageToImageCost } from '../job-cost';
import { resolveGenerationParams, resolveImageToImageParams } from '../job-params';
import { enqueueJob, withStagedInputs } from '../job-submission';
import { generationRequestSchema, imageToImageRequestSchema } from '../request-schemas';
import type { ComfyPlan } from './comfy-graph';
import { invalidPrompt, NodeErrorList } from './comfy-node-errors';
import type { ComfyGraph } from './comfy-schemas';
import type { ComfyStore } from './comfy-store';

/** darkroom's own checks of the job a workflow became, reported as node_errors on the node each field came from. */
function asNodeErrors(err: unknown, graph: ComfyGraph, plan: ComfyPlan): unknown {
  const fallback = plan.outputs[0].node;
  const errors = new NodeErrorList(graph);
  if (err instanceof z.ZodError) {
    for (const issue of err.issues) {
      const field = String(issue.path[0] ?? '');
      errors.add(plan.fieldNodes[field] ?? fallback, 'invalid_input', `${field}: ${issue.message}`, field);
    }
  } else if (err instanceof AppError && err.status === 422) {
    const details = Array.isArray(err.details) ? (err.details as { field?: string }[]) : [];
    const field = details.find((d) => typeof d.field === 'string')?.field?.split('.')[0] ?? '';
    errors.add(plan.fieldNodes[field] ?? fallback, err.code, err.message, field || undefined);
  } else return err;
  return invalidPrompt(errors.withOutputs(plan.outputs.map((o) => o.node)));
}

/** The uploaded image a LoadImage node names, staged as the job's input. */
async function stageUpload(deps: AppDeps, comfy: ComfyStore, owner: string, name: string, id: string, model: string) {
  const key = await comfy.findUpload(owner, name);
  const data = key && (await deps.store.get(key).catch(() => undefined));
  if (!data)
    throw new AppError(422, 'invalid_image', `Invalid image file: ${name} (upload it with POST /upload/image)`, [
      { field: 'image' },
    ]);
  const upload = { data, filename: name, field: 'image' };
  const [input] = await stageImages([upload], id, deps.store, deps.config.limits, deps.catalog.get(model)?.manifest);
  return input;
}

/** Enqueues the darkroom job a workflow stands for; returns its id (the prompt id). */
export async function submitPlan(deps: AppDeps, comfy: ComfyStore, req: Request, graph: ComfyGraph, plan: ComfyPlan) {
  const { catalog, config } = deps;
  try {
    if (plan.job.type === 'generation') {
      const params = resolveGenerationParams(generationRequestSchema.parse(plan.job.request), catalog, config.limits);
      return await enqueueJob(deps, req, newJobId('generation'), { type: 'generation', params, cacheable: true });
    }
    const request = imageToImageRequestSchema.omit({ image: true }).parse(plan.job.request);
    const params = resolveImageToImageParams(request, catalog, config.limits);
    const image = plan.job.image;
    return await withStagedInputs(deps, newJobId('image_to_image'), async (id) => {
      const input = await stageUpload(deps, comfy, principalOf(req), image, id, params.model);
      checkJobCost(imageToImageCost(params, input), config.limits);
      return enqueueJob(deps, req, id, { type: 'image_to_image', params, input, cacheable: true });
    });
  } catch (err) {
    throw asNodeErrors(err, graph, plan);
  }
}
