import type { LimitSettings } from '../config';
import { AppError } from '../errors';
import type { GenerationParams, ImageToImageParams, StagedImage } from '../jobs/job-contract';

/**
 * What a job costs, in megapixel-steps: width x height x steps x n / 10^6, roughly proportional to
 * its run time. Each parameter has its own limit, but their product is what occupies a worker:
 * 1024x1024, 150 steps, 16 images would hold one for hours. MAX_JOB_MEGAPIXEL_STEPS caps it.
 */

type CostLimit = Pick<LimitSettings, 'maxJobMegapixelSteps'>;

/** A generation: a model without steps (a GAN, a CPPN) counts one step per image. */
export const generationCost = (p: Pick<GenerationParams, 'width' | 'height' | 'steps' | 'n'>): number =>
  (p.width * p.height * (p.steps ?? 1) * p.n) / 1e6;

/**
 * Image-to-image, at the size asked for or else the input's size (the worker may shrink that to
 * the model's limits, so this can only overcount): diffusion for every step and each of n images,
 * a graph model once (no steps, and n is always 1).
 */
export const imageToImageCost = (p: ImageToImageParams, input: Pick<StagedImage, 'width' | 'height'>): number =>
  generationCost({ width: p.width ?? input.width, height: p.height ?? input.height, steps: p.steps, n: p.n });

const round = (cost: number) => Number(cost.toFixed(1));

function refuse(what: string, cost: number, limits: CostLimit, field?: string): AppError {
  const message = `${what} ${round(cost)} megapixel-steps (width x height x steps x n / 10^6); the limit is ${limits.maxJobMegapixelSteps} (MAX_JOB_MEGAPIXEL_STEPS): ask for fewer, smaller images or fewer steps`;
  return new AppError(422, 'job_too_expensive', message, field === undefined ? undefined : [{ field, message }]);
}

/** 422 job_too_expensive when one job costs more than MAX_JOB_MEGAPIXEL_STEPS; `path` is a batch item's. */
export function checkJobCost(cost: number, limits: CostLimit, path: (string | number)[] = []): void {
  if (cost <= limits.maxJobMegapixelSteps) return;
  throw refuse(
    path.length ? `request ${path.join('.')} costs` : 'this job costs',
    cost,
    limits,
    path.length ? path.join('.') : undefined,
  );
}

/** 422 job_too_expensive when a batch's generations cost more than MAX_JOB_MEGAPIXEL_STEPS together, though each fits. */
export function checkBatchCost(generations: Parameters<typeof generationCost>[0][], limits: CostLimit): void {
  const cost = generations.reduce((sum, p) => sum + generationCost(p), 0);
  if (cost > limits.maxJobMegapixelSteps)
    throw refuse(`the batch's ${generations.length} generations cost`, cost, limits, 'requests');
}
