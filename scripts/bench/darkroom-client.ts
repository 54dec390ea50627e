import { performance } from 'node:perf_hooks';
import type { ClientMode } from './bench-options';
import type { RequestOutcome } from './load-generators';
import { sleep } from './process-launcher';

/** The fields of a job view the benchmark reads. */
export interface JobView {
  id: string;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  result?: { images?: unknown[]; predictions?: unknown[] };
  error?: { code: string; message: string };
}

/** An HTTP request to send: path under the server's URL and fetch options. */
export interface BenchRequest {
  path: string;
  init: RequestInit;
}

async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Submits a job (expects 202) and returns its id. */
export async function submitJob(baseUrl: string, req: BenchRequest): Promise<string> {
  const res = await fetch(baseUrl + req.path, req.init);
  return (await json<JobView>(res, `POST ${req.path}`)).id;
}

export async function getJob(baseUrl: string, id: string): Promise<JobView> {
  return json<JobView>(await fetch(`${baseUrl}/v1/jobs/${id}`), `GET /v1/jobs/${id}`);
}

/** How long a `wait` client asks the API to hold its submission (the API caps it with MAX_PREFER_WAIT_SECONDS). */
const PREFER_WAIT_SECONDS = 60;

/**
 * What a darkroom client does. `poll`: submit, then poll GET /v1/jobs/{id} every `pollMs` until
 * the job has succeeded. `wait`: submit with `Prefer: wait`, so the API answers 200 with the
 * finished job (falling back to polling if it answers 202). latencyMs is submit -> the answer that
 * carried the result; readyMs is submit -> the job's finish time recorded in Redis (same machine,
 * same clock), i.e. without the delay of learning about it.
 */
export async function submitAndWait(
  baseUrl: string,
  req: BenchRequest,
  mode: ClientMode,
  pollMs: number,
): Promise<RequestOutcome> {
  const wallStart = Date.now();
  const start = performance.now();
  const outcome = (job: JobView, polls: number): RequestOutcome => {
    if (job.status !== 'succeeded')
      throw new Error(`job ${job.id} ${job.status}: ${job.error?.code} ${job.error?.message}`);
    const images = job.result?.images?.length ?? job.result?.predictions?.length ?? 0;
    const finished = job.finished_at ? Date.parse(job.finished_at) - wallStart : undefined;
    return { images, latencyMs: performance.now() - start, readyMs: finished, polls };
  };
  let id: string;
  if (mode === 'wait') {
    const headers = new Headers(req.init.headers);
    headers.set('prefer', `wait=${PREFER_WAIT_SECONDS}`);
    const res = await fetch(baseUrl + req.path, { ...req.init, headers });
    const job = await json<JobView>(res, `POST ${req.path}`);
    if (res.status === 200) return outcome(job, 0);
    id = job.id;
  } else {
    id = await submitJob(baseUrl, req);
  }
  for (let polls = 1; ; polls++) {
    await sleep(pollMs);
    const job = await getJob(baseUrl, id);
    if (job.status !== 'queued' && job.status !== 'running') return outcome(job, polls);
  }
}
