import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { JobView } from '../jobs/job-view';
import { ApiError, ConnectionError, type FieldDetail } from './cli-errors';

/** A model as GET /v1/models describes it (the fields the CLI shows; the rest passes through). */
export interface ModelDescription {
  name: string;
  kind: string;
  description?: string;
  [field: string]: unknown;
}

export interface ApiClientOptions {
  /** Base URL of the server, e.g. http://localhost:3000. */
  url: string;
  /** Sent as `Authorization: Bearer <key>` when set. */
  apiKey?: string;
}

/** The public HTTP API of a darkroom server, over the global fetch. */
export interface ApiClient {
  readonly url: string;
  listModels(): Promise<ModelDescription[]>;
  createGeneration(body: Record<string, unknown>): Promise<JobView>;
  createClassification(form: FormData): Promise<JobView>;
  createImageToImage(body: Record<string, unknown>): Promise<JobView>;
  getJob(id: string): Promise<JobView>;
  cancelJob(id: string): Promise<JobView>;
  /** A GET whose body is streamed (an image or a zip), not buffered. */
  openStream(path: string): Promise<Readable>;
}

/** Requests that answer with JSON get this long; uploads and downloads take as long as they take. */
const JSON_TIMEOUT_MS = 30_000;

/** Why fetch could not connect, in words (undici hides the errno in `cause`). */
function connectionReason(err: unknown): string {
  if ((err as Error).name === 'TimeoutError') return `no answer within ${JSON_TIMEOUT_MS / 1000} s`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connection timed out';
    default:
      return cause?.message ?? (err as Error).message;
  }
}

/** Turns an error response into an ApiError, whether or not the body is darkroom's JSON. */
async function apiErrorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const { error } = JSON.parse(text) as { error?: { code?: string; message?: string; details?: unknown } };
    if (error?.code && error.message) {
      const details = Array.isArray(error.details)
        ? (error.details as FieldDetail[]).filter((d) => d && typeof d.field === 'string')
        : [];
      return new ApiError(res.status, error.code, error.message, details);
    }
  } catch {
    // Not JSON: a proxy or another server answered.
  }
  return new ApiError(
    res.status,
    `http_${res.status}`,
    `${res.statusText || 'request failed'}${text ? `: ${text.slice(0, 200)}` : ''}`,
  );
}

export function createApiClient({ url, apiKey }: ApiClientOptions): ApiClient {
  const base = url.replace(/\/+$/, '');
  const auth: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};

  const request = async (path: string, init: RequestInit = {}): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        ...init,
        headers: { accept: 'application/json', ...auth, ...(init.headers as Record<string, string>) },
      });
    } catch (err) {
      throw new ConnectionError(base, connectionReason(err));
    }
    if (!res.ok) throw await apiErrorOf(res);
    return res;
  };
  const json = async <T>(path: string, init: RequestInit = {}, timeoutMs: number | null = JSON_TIMEOUT_MS) => {
    const res = await request(path, timeoutMs === null ? init : { ...init, signal: AbortSignal.timeout(timeoutMs) });
    try {
      return (await res.json()) as T;
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') throw new ConnectionError(base, connectionReason(err));
      throw new ApiError(
        res.status,
        'invalid_response',
        `${path} answered ${res.status} without valid JSON; is ${base} a darkroom server?`,
      );
    }
  };
  const jobPath = (id: string) => `/v1/jobs/${encodeURIComponent(id)}`;

  return {
    url: base,
    listModels: async () => (await json<{ models: ModelDescription[] }>('/v1/models')).models,
    createGeneration: (body) =>
      json('/v1/generations', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    // fetch sets the multipart boundary itself.
    createClassification: (form) => json('/v1/classifications', { method: 'POST', body: form }, null),
    // The image travels as base64 in JSON; a large one may take longer than a plain request.
    createImageToImage: (body) =>
      json(
        '/v1/image-to-image',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
        null,
      ),
    getJob: (id) => json(jobPath(id)),
    cancelJob: (id) => json(jobPath(id), { method: 'DELETE' }),
    openStream: async (path) => {
      const res = await request(path, { headers: { accept: '*/*' } });
      if (!res.body) throw new ApiError(res.status, 'empty_body', `GET ${path} answered without a body`);
      return Readable.fromWeb(res.body as unknown as NodeReadableStream<Uint8Array>);
    },
  };
}
