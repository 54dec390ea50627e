import { setTimeout as sleep } from 'node:timers/promises';
import type { JobView } from '../jobs/job-view';
import type { AppDeps } from './app-deps';
import { findJob, viewOf } from './job-lookup';

const FINAL = new Set<JobView['status']>(['succeeded', 'failed', 'canceled']);

/**
 * Polls a job until it has finished, `timeoutMs` has passed or `signal` aborts, and returns its
 * last view. Polling needs no connection of its own (a QueueEvents stream would), and the
 * interval starts short because small jobs finish in tens of milliseconds.
 */
export async function waitForJobView(deps: AppDeps, owner: string, id: string, timeoutMs: number, signal?: AbortSignal): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
    const view = await viewOf(deps, await findJob(deps, owner, id));
    const left = deadline - Date.now();
    if (FINAL.has(view.status) || left <= 0 || signal?.aborted) return view;
    await sleep(Math.min(delay, left), undefined, { signal }).catch(() => undefined);
  }
}
