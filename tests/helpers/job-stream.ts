import fs from 'node:fs';
import path from 'node:path';
import { encodeImage, inspectImage } from '../../src/imaging/image-codec';
import { requestJson } from './api-client';

/** A job the API accepted (202), and when. */
export interface Accepted {
  id: string;
  kind: 'generation' | 'classification';
  /** When the request was sent, and when its 202 came. */
  sentAt: number;
  acceptedAt: number;
}

/** A submission the API did not accept: its status (0: no answer) and how long the answer took. */
export interface Refused {
  status: number;
  code?: string;
  /** The Retry-After header, when the answer had one. */
  retryAfter?: string;
  ms: number;
  at: number;
}

export interface JobStream {
  accepted: Accepted[];
  refused: Refused[];
  /** Resolves once `count` jobs have been accepted at or after `since` (ms since the epoch). */
  acceptedSince(since: number, count: number): Promise<void>;
  /** Stops submitting and waits for the submissions in flight. */
  stop(): Promise<void>;
}

/** Small solid-colour PNGs for classification requests, as base64. */
export async function colourSwatches(): Promise<string[]> {
  const colours: [number, number, number][] = [
    [200, 30, 30],
    [30, 160, 60],
    [40, 60, 200],
    [240, 220, 40],
  ];
  return Promise.all(
    colours.map(async (rgb) => {
      const data = Buffer.alloc(48 * 48 * 3);
      for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
      return (await encodeImage({ data, width: 48, height: 48, channels: 3 }, 'png')).toString('base64');
    }),
  );
}

/** What to submit next: a path under the API and its JSON body. */
export type NextRequest = () => { kind: Accepted['kind']; path: string; body: unknown };

/**
 * Submits `next()` every `intervalMs` (without waiting for the previous answer) until stopped,
 * skipping a beat whenever `room()` says the system has enough work already.
 */
export function startJobStream(
  url: string,
  next: NextRequest,
  intervalMs: number,
  room: () => Promise<boolean> = async () => true,
): JobStream {
  const accepted: Accepted[] = [];
  const refused: Refused[] = [];
  const inFlight = new Set<Promise<void>>();
  const waiters: { since: number; count: number; resolve: () => void }[] = [];
  const wake = () => {
    for (const w of [...waiters]) {
      if (accepted.filter((j) => j.acceptedAt >= w.since).length < w.count) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const submit = async () => {
    if (!(await room().catch(() => true))) return;
    const { kind, path: route, body } = next();
    const started = Date.now();
    const done = requestJson(`${url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    }).then(
      (res) => {
        if (res.status === 202) {
          accepted.push({ id: res.body.id, kind, sentAt: started, acceptedAt: Date.now() });
          wake();
        } else
          refused.push({
            status: res.status,
            code: res.body?.error?.code,
            retryAfter: res.headers.get('retry-after') ?? undefined,
            ms: Date.now() - started,
            at: started,
          });
      },
      () => void refused.push({ status: 0, ms: Date.now() - started, at: started }),
    );
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };
  const timer = setInterval(() => void submit(), intervalMs);
  return {
    accepted,
    refused,
    acceptedSince(since, count) {
      return new Promise((resolve) => {
        waiters.push({ since, count, resolve });
        wake();
      });
    },
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
    },
  };
}

/** Every file under `dir`, relative to it. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

const EXTENSION: Record<string, string> = { 'image/png': 'png', 'image/webp': 'webp', 'image/jpeg': 'jpeg' };

/**
 * Problems with a succeeded generation job's files in the filesystem blob store: its outputs folder
 * must hold exactly the images its result lists (no duplicates, no leftovers), each a whole image.
 */
export async function outputProblems(
  blobRoot: string,
  job: { id: string; result: { images: { index: number; content_type: string; width: number; height: number }[] } },
): Promise<string[]> {
  const dir = path.join(blobRoot, 'jobs', job.id, 'outputs');
  const expected = job.result.images.map((i) => `${i.index}.${EXTENSION[i.content_type]}`).sort();
  const found = listFiles(dir).sort();
  const problems: string[] = [];
  if (JSON.stringify(found) !== JSON.stringify(expected))
    problems.push(`${job.id}: outputs ${JSON.stringify(found)}, result lists ${JSON.stringify(expected)}`);
  for (const image of job.result.images) {
    const file = path.join(dir, `${image.index}.${EXTENSION[image.content_type]}`);
    if (!fs.existsSync(file)) continue;
    const info = await inspectImage(fs.readFileSync(file), 100_000_000).catch((err: Error) => err);
    if (info instanceof Error) problems.push(`${job.id}: ${path.basename(file)} does not decode: ${info.message}`);
    else if (info.width !== image.width || info.height !== image.height)
      problems.push(
        `${job.id}: ${path.basename(file)} is ${info.width}x${info.height}, result says ${image.width}x${image.height}`,
      );
  }
  return problems;
}
