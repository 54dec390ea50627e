import type { JobType } from '../jobs/job-contract';
import { kindOf } from '../models/model-kinds';
import type { ModelManifest } from '../models/model-manifest';

/**
 * Jobs are routed by model: each (job type, model) pair has a BullMQ queue of its own, named
 * `<type>@<model>`, and a worker consumes only the queues of the models it serves. A worker never
 * takes a job it cannot run, and a job for a model no worker serves simply waits in its queue.
 * (BullMQ forbids `:` in queue names; `@` appears in no model name, which are `[a-z0-9._-]`.)
 */
export const modelQueueName = (type: JobType, model: string) => `${type}@${model}`;

/** The type and model of a model queue's name; undefined for the per-type queues (batch). */
export function parseModelQueue(name: string): { type: JobType; model: string } | undefined {
  const at = name.indexOf('@');
  if (at < 0) return undefined;
  return { type: name.slice(0, at) as JobType, model: name.slice(at + 1) };
}

/**
 * The job types a model serves: those its kind serves (src/models/model-kinds.ts), less
 * image-to-image for a diffusion pipeline without a VAE encoder (the API refuses those requests).
 */
export function jobTypesOf(manifest: ModelManifest, hasVaeEncoder = false): JobType[] {
  const types = Object.keys(kindOf(manifest).jobs) as JobType[];
  return types.filter((t) => t !== 'image_to_image' || manifest.kind !== 'diffusion' || hasVaeEncoder);
}
