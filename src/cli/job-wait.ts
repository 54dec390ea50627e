import type { JobView } from '../jobs/job-view';
import type { ApiClient } from './api-client';
import { ApiError, JobEndedError } from './cli-errors';

const FINAL_STATUSES = new Set(['succeeded', 'failed', 'canceled']);

/** 503 means the server's Redis is briefly unreachable; a few are waited out before giving up. */
const MAX_UNAVAILABLE_POLLS = 40;

export interface WaitOptions {
  intervalMs?: number;
  /** Called with every job view fetched, the first one included. */
  onUpdate?: (job: JobView) => void;
}

export const isFinal = (job: JobView) => FINAL_STATUSES.has(job.status);

/** Polls GET /v1/jobs/{id} until the job has finished, whatever the outcome. */
export async function waitForJob(
  client: ApiClient,
  job: JobView,
  { intervalMs = 250, onUpdate }: WaitOptions = {},
): Promise<JobView> {
  let current = job;
  let unavailable = 0;
  onUpdate?.(current);
  while (!isFinal(current)) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    try {
      current = await client.getJob(current.id);
      unavailable = 0;
    } catch (err) {
      if (err instanceof ApiError && err.status === 503 && ++unavailable < MAX_UNAVAILABLE_POLLS) continue;
      throw err;
    }
    onUpdate?.(current);
  }
  return current;
}

/** Throws the job's own error unless it succeeded. */
export function requireSucceeded(job: JobView): JobView {
  if (job.status === 'succeeded') return job;
  const error = job.error ?? { code: job.status, message: `the job ${job.status}` };
  throw new JobEndedError(job.id, job.status, error.code, error.message);
}
