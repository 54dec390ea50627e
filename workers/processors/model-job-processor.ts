import type { z } from 'zod';
import {
  classificationPayloadSchema,
  generationPayloadSchema,
  imageToImagePayloadSchema,
  type JobType,
} from '../../src/jobs/job-contract';
import { JobFailure, RetryableJobFailure } from '../../src/jobs/job-failure';
import type { JobRuns } from '../pipelines/kind-pipeline';
import { readPayload } from '../pipelines/pipeline-context';
import { jobRunOf, kindsRunning } from '../pipelines/pipelines';
import type { Processor, ProcessorContext } from './processor-context';

/** What each job type's payload must look like, re-checked by the worker. */
const PAYLOAD_SCHEMAS: { [T in JobType]: z.ZodType<JobRuns[T]['payload']> } = {
  generation: generationPayloadSchema,
  classification: classificationPayloadSchema,
  image_to_image: imageToImagePayloadSchema,
};

/**
 * The processor of a job type that runs on a model: finds the model the job names and hands the
 * job to its kind's pipeline (`workers/pipelines/`).
 */
export function modelJobProcessor<T extends JobType>(type: T): (ctx: ProcessorContext) => Processor {
  return (ctx) => async (job, _token, signal) => {
    const payload = readPayload(PAYLOAD_SCHEMAS[type], job.data);
    const name = payload.params.model;
    const model = ctx.registry.get(name);
    // Another worker may serve it: let BullMQ retry elsewhere rather than fail for good.
    if (!model) throw new RetryableJobFailure('model_unavailable', `this worker has no model "${name}"`);
    const run = jobRunOf(model, type);
    if (!run)
      throw new JobFailure(
        'wrong_model_kind',
        `model "${name}" is a ${model.kind}, not a ${kindsRunning(type).join(' or ')}`,
      );
    return run(ctx, model, job, payload, signal);
  };
}
