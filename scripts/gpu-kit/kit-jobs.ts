import fs from 'node:fs';
import path from 'node:path';
import { decodeImage, type RawImage } from '../../src/imaging/image-codec';
import { sleep } from '../bench/process-launcher';
import { kitPaths } from './kit-layout';

/**
 * The fixed set of jobs every provider runs through darkroom's real API (HTTP, Redis, worker):
 * mobilenet classifications of the shared photos, omori generations, demo-diffusion at 512x512
 * and super-resolution. Sequential, so each job's run time is its own.
 */
interface JobSpec {
  key: string;
  model: string;
  what: string;
  path: '/v1/classifications' | '/v1/generations' | '/v1/image-to-image';
  body: Record<string, unknown>;
  /** Classification jobs: the photo of each input image, in order. */
  photos?: string[];
}

export interface Top1 {
  photo: string;
  label: string;
  class_index: number;
  score: number;
}

export interface JobOutcome {
  key: string;
  model: string;
  what: string;
  id?: string;
  status: string;
  error?: string;
  /** Worker's run time: started_at -> finished_at. */
  run_seconds?: number;
  top1?: Top1[];
  /** Decoded outputs (RGB), kept in memory for the comparison with the CPU run; not written to the report. */
  images?: RawImage[];
  image_sizes?: string[];
}

const MAX_IMAGES_PER_JOB = 16;
const JOB_TIMEOUT_MS = 120_000;

function jobSpecs(kit: string): JobSpec[] {
  const { photos } = kitPaths(kit);
  const files = fs.readdirSync(photos).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  const b64 = (f: string) => fs.readFileSync(path.join(photos, f)).toString('base64');
  const specs: JobSpec[] = [];
  for (let i = 0; i < files.length; i += MAX_IMAGES_PER_JOB) {
    const chunk = files.slice(i, i + MAX_IMAGES_PER_JOB);
    specs.push({ key: `classify-${specs.length + 1}`, model: 'mobilenetv2-12-int8', what: `${chunk.length} photos, top 5`, path: '/v1/classifications', body: { model: 'mobilenetv2-12-int8', images: chunk.map(b64), top_k: 5 }, photos: chunk });
  }
  return [
    ...specs,
    { key: 'omori', model: 'omori-sprite-gan', what: '16 sprites, seed 7', path: '/v1/generations', body: { model: 'omori-sprite-gan', n: 16, seed: 7, output_format: 'png' } },
    { key: 'diffusion-512', model: 'demo-diffusion', what: '2 images 512x512, 20 Euler steps, CFG 7.5, seed 3', path: '/v1/generations', body: { model: 'demo-diffusion', prompt: 'a red circle above a calm blue sea', width: 512, height: 512, n: 2, seed: 3, steps: 20, guidance_scale: 7.5, scheduler: 'euler', output_format: 'png' } },
    { key: 'superres-128', model: 'superres-y-x3', what: 'samoyed_128.png -> 384x384', path: '/v1/image-to-image', body: { model: 'superres-y-x3', image: b64('samoyed_128.png'), output_format: 'png' } },
    { key: 'superres-224', model: 'superres-y-x3', what: 'mandrill_face_224.png -> 672x672', path: '/v1/image-to-image', body: { model: 'superres-y-x3', image: b64('mandrill_face_224.png'), output_format: 'png' } },
  ];
}

interface JobView {
  id: string;
  status: string;
  started_at: string | null;
  finished_at: string | null;
  result?: { images?: unknown[]; predictions?: { index: number; labels: { label: string; class_index: number; score: number }[] }[] };
  error?: { code: string; message: string };
}

async function readJson<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** Submits with `Prefer: wait`, then polls until the job has finished or `timeoutMs` has passed. */
async function runJob(url: string, spec: JobSpec, timeoutMs: number): Promise<JobView> {
  const submitted = await readJson<JobView>(
    await fetch(url + spec.path, { method: 'POST', headers: { 'content-type': 'application/json', prefer: 'wait=60' }, body: JSON.stringify(spec.body) }),
    `POST ${spec.path}`,
  );
  const deadline = Date.now() + timeoutMs;
  let job = submitted;
  while (job.status === 'queued' || job.status === 'running') {
    if (Date.now() > deadline) throw new Error(`job ${job.id} still ${job.status} after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(200);
    job = await readJson<JobView>(await fetch(`${url}/v1/jobs/${submitted.id}`), `GET /v1/jobs/${submitted.id}`);
  }
  return job;
}

async function collect(url: string, spec: JobSpec, job: JobView, out: JobOutcome): Promise<void> {
  if (spec.photos) {
    out.top1 = (job.result?.predictions ?? []).map((p) => ({ photo: spec.photos![p.index], ...p.labels[0] }));
    return;
  }
  out.images = [];
  for (let i = 0; i < (job.result?.images?.length ?? 0); i++) {
    const res = await fetch(`${url}/v1/jobs/${job.id}/images/${i}`);
    if (!res.ok) throw new Error(`GET image ${i} of ${job.id}: HTTP ${res.status}`);
    out.images.push(await decodeImage(Buffer.from(await res.arrayBuffer()), { maxPixels: 100_000_000 }));
  }
  out.image_sizes = out.images.map((im) => `${im.width}x${im.height}`);
}

/** Runs every job; a failed one is a result, and `stopAt` (epoch ms) skips what would not finish in time. */
export async function runKitJobs(url: string, kit: string, stopAt: number, log: (line: string) => void): Promise<JobOutcome[]> {
  const outcomes: JobOutcome[] = [];
  for (const spec of jobSpecs(kit)) {
    const out: JobOutcome = { key: spec.key, model: spec.model, what: spec.what, status: 'not run' };
    outcomes.push(out);
    if (Date.now() > stopAt) {
      out.status = 'skipped';
      out.error = 'the run\'s deadline had passed';
      continue;
    }
    try {
      const job = await runJob(url, spec, Math.max(10_000, Math.min(JOB_TIMEOUT_MS, stopAt - Date.now())));
      out.id = job.id;
      out.status = job.status;
      if (job.started_at && job.finished_at) out.run_seconds = (Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000;
      if (job.status === 'succeeded') await collect(url, spec, job, out);
      else out.error = `${job.error?.code}: ${job.error?.message}`;
    } catch (err) {
      out.status = 'error';
      out.error = (err as Error).message;
    }
    log(`  job ${spec.key} (${spec.model}): ${out.status}${out.run_seconds !== undefined ? ` in ${out.run_seconds.toFixed(2)} s` : ''}${out.error ? ` - ${out.error}` : ''}`);
  }
  return outcomes;
}
