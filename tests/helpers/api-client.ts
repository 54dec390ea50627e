/** Small fetch helpers for tests that talk to a real server over HTTP. */
export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function requestJson<T = any>(url: string, init: RequestInit = {}): Promise<JsonResponse<T>> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

export const postJson = <T = any>(url: string, body: unknown, headers: Record<string, string> = {}) =>
  requestJson<T>(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const FINAL = new Set(['succeeded', 'failed', 'canceled']);

/** Polls a job (or batch) until it reaches a final status. */
export async function waitForJob(
  base: string,
  id: string,
  timeoutMs = 60_000,
  kind: 'jobs' | 'batches' = 'jobs',
  headers: Record<string, string> = {},
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await requestJson(`${base}/v1/${kind}/${id}`, { headers });
    if (status !== 200) throw new Error(`GET ${kind}/${id} answered ${status}: ${JSON.stringify(body)}`);
    if (FINAL.has(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`${id} still ${body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function fetchBuffer(url: string): Promise<{ status: number; headers: Headers; data: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, data: Buffer.from(await res.arrayBuffer()) };
}
