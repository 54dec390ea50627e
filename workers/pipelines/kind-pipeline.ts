import type { Job } from 'bullmq';
import type {
  ClassificationPayload,
  ClassificationResult,
  GenerationPayload,
  GenerationResult,
  ImageToImagePayload,
  JobPayload,
  JobType,
} from '../../src/jobs/job-contract';
import type { KindEntry } from '../../src/models/kinds/model-kind';
import type { ModelRunner, RunnerFactory } from '../runtime/model-runner';
import type { PipelineContext } from './pipeline-context';

/**
 * What the worker knows about one model kind: how to load a model of it and how to run each job
 * type it serves. Each kind is one module in this folder, registered in `pipelines.ts`.
 */

/** The validated payload and the result of each job type a model may run. */
export interface JobRuns {
  generation: { payload: GenerationPayload; result: GenerationResult };
  image_to_image: { payload: ImageToImagePayload; result: GenerationResult };
  classification: { payload: ClassificationPayload; result: ClassificationResult };
}

/** Runs one job of type T on a loaded model; the signal aborts when the job is canceled. */
export type JobRun<L, T extends JobType> = (
  ctx: PipelineContext,
  model: L,
  job: Job<JobPayload>,
  payload: JobRuns[T]['payload'],
  signal?: AbortSignal,
) => Promise<JobRuns[T]['result']>;

export interface KindPipeline<M, L> {
  /** Starts the model's inference threads; what it loads lives as long as the worker. */
  load(entry: KindEntry<M>, startRunner: RunnerFactory): Promise<L>;
  /** Every runner of the model (a pipeline has several), for health, metrics and closing. */
  runners(model: L): ModelRunner[];
  /** The job types this kind serves (the same ones its `src/models/kinds` module resolves). */
  jobs: { [T in JobType]?: JobRun<L, T> };
}
