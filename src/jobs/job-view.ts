import type { JobState } from 'bullmq';
import { z } from 'zod';
import { jobProgressSchema, queueOfJobId, QUEUE_NAMES } from './job-contract';
import { CANCELED_CODE, parseFailure } from './job-failure';
import type { DarkroomJob } from './job-queues';
import { jobResultSchema, jobTypeOf } from './job-types';
import type { QueueEstimate } from './queue-estimates';

export const jobStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'canceled']);
export type JobStatus = z.infer<typeof jobStatusSchema>;

/** The job object clients see (the API documents this schema; `JobView` is its type). */
export const jobViewSchema = z.strictObject({
  id: z.string(),
  type: z.enum(QUEUE_NAMES),
  status: jobStatusSchema,
  progress: z.number().min(0).max(1),
  step: z.number().int().optional(),
  steps: z.number().int().optional(),
  model: z.string().optional(),
  params: z.record(z.string(), z.unknown()),
  batch_id: z.string().optional(),
  attempts_made: z.number().int().min(0),
  created_at: z.iso.datetime(),
  started_at: z.iso.datetime().nullable(),
  finished_at: z.iso.datetime().nullable(),
  result: jobResultSchema.optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  queue_position: z.number().int().min(0).nullable().optional().meta({
    description:
      'While queued: jobs ahead of it in its queue (0: it starts next); null when unknown (e.g. waiting for a retry). Absent once finished.',
  }),
  eta_seconds: z.number().min(0).nullable().optional().meta({
    description:
      'While queued or running: estimated seconds until it finishes, from measured run times, its place in line and the live workers; null when unknown.',
  }),
});
export type JobView = z.infer<typeof jobViewSchema>;

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);

/** Maps BullMQ's state (and a pending cancel request) to the public status. */
export function statusOf(
  state: JobState | 'unknown',
  failedReason: string | undefined,
  cancelRequested: boolean,
): JobStatus {
  switch (state) {
    case 'completed':
      return 'succeeded';
    case 'failed':
      return parseFailure(failedReason).code === CANCELED_CODE ? 'canceled' : 'failed';
    case 'active':
      return 'running';
    default:
      return cancelRequested ? 'canceled' : 'queued';
  }
}

/** Builds the public view of a job from its BullMQ record and its state, read after the record. */
export function viewJob(
  job: DarkroomJob,
  state: JobState | 'unknown',
  cancelRequested: boolean,
  estimate?: QueueEstimate,
): JobView {
  const status = statusOf(state, job.failedReason, cancelRequested);
  const progress = jobProgressSchema.safeParse(job.progress);
  const id = String(job.id);
  const view: JobView = {
    id,
    type: job.data.type,
    status,
    progress: status === 'succeeded' ? 1 : progress.success ? progress.data.value : 0,
    model: 'params' in job.data ? job.data.params.model : undefined,
    params: jobTypeOf(job.data).publicParams(job.data),
    attempts_made: job.attemptsMade,
    created_at: new Date(job.timestamp).toISOString(),
    started_at: iso(job.processedOn),
    finished_at: iso(job.finishedOn),
  };
  if (progress.success && progress.data.steps !== undefined) {
    view.step = progress.data.step;
    view.steps = progress.data.steps;
  }
  const parentId = job.parent?.id ?? job.opts.parent?.id;
  if (parentId && queueOfJobId(parentId) === 'batch') view.batch_id = parentId;
  if (status === 'succeeded') view.result = jobTypeOf(job.data).publicResult(id, job.returnvalue);
  if (status === 'failed' || (status === 'canceled' && state === 'failed')) view.error = parseFailure(job.failedReason);
  if (status === 'canceled' && !view.error) view.error = { code: CANCELED_CODE, message: 'canceled by the client' };
  if (estimate && (status === 'queued' || status === 'running')) Object.assign(view, estimate);
  return view;
}
