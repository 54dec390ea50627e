import { performance } from 'node:perf_hooks';
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

/**
 * What a darkroom client does: submit, then poll GET /v1/jobs/{id} every `pollMs` until the job
 * has succeeded. latencyMs is submit -> the poll that saw the result; readyMs is submit -> the
 * job's finish time recorded in Redis (same machine, same clock), i.e. without the polling delay.
 */
export async function submitAndWait(baseUrl: string, req: BenchRequest, pollMs: number): Promise<RequestOutcome> {
  const wallStart = Date.now();
  const start = performance.now();
  const id = await submitJob(baseUrl, req);
  for (let polls = 1; ; polls++) {
    await sleep(pollMs);
    const job = await getJob(baseUrl, id);
    if (job.status === 'succeeded') {
      const latencyMs = performance.now() - start;
      const images = job.result?.images?.length ?? job.result?.predictions?.length ?? 0;
      const finished = job.finished_at ? Date.parse(job.finished_at) - wallStart : undefined;
      return { images, latencyMs, readyMs: finished, polls };
    }
    if (job.status === 'failed' || job.status === 'canceled') throw new Error(`job ${id} ${job.status}: ${job.error?.code} ${job.error?.message}`);
  }
}
