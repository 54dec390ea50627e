import { AppError } from '../../errors';
import type { GenerationParams, ImageOutput, ImageToImageParams } from '../../jobs/job-contract';
import type { JobView } from '../../jobs/job-view';
import { A1111_SAMPLERS } from './a1111-schemas';

/** The body of /sdapi/v1/txt2img and img2img: base64 images, the request echoed, `info` as JSON text. */

type Params = GenerationParams | ImageToImageParams;

const samplerName = (p: Params) => A1111_SAMPLERS.find((s) => s.scheduler === p.scheduler)?.name ?? p.scheduler;

/** A1111's infotext for one image, as its UI and PNG info write it. */
function infotext(p: Params, seed: number, size: { width: number; height: number }) {
  const lines = [p.prompt ?? ''];
  if (p.negative_prompt) lines.push(`Negative prompt: ${p.negative_prompt}`);
  const strength = 'strength' in p && p.strength !== undefined ? `, Denoising strength: ${p.strength}` : '';
  lines.push(
    `Steps: ${p.steps}, Sampler: ${samplerName(p)}, CFG scale: ${p.guidance_scale}, Seed: ${seed}, Size: ${size.width}x${size.height}, Model: ${p.model}${strength}, Version: darkroom`,
  );
  return lines.join('\n');
}

const timestamp = (iso: string | null) => (iso ?? new Date().toISOString()).replace(/\D/g, '').slice(0, 14);

export function a1111Info(p: Params, images: ImageOutput[], view: JobView, batchSize: number) {
  const seeds = images.map((i) => i.seed ?? p.seed + i.index);
  const first = images[0] ?? { width: p.width ?? 0, height: p.height ?? 0 };
  return JSON.stringify({
    prompt: p.prompt ?? '',
    all_prompts: images.map(() => p.prompt ?? ''),
    negative_prompt: p.negative_prompt ?? '',
    all_negative_prompts: images.map(() => p.negative_prompt ?? ''),
    seed: seeds[0] ?? p.seed,
    all_seeds: seeds,
    subseed: seeds[0] ?? p.seed,
    all_subseeds: seeds,
    subseed_strength: 0,
    width: first.width,
    height: first.height,
    sampler_name: samplerName(p),
    cfg_scale: p.guidance_scale,
    steps: p.steps,
    batch_size: batchSize,
    restore_faces: false,
    sd_model_name: p.model,
    sd_model_hash: null,
    denoising_strength: 'strength' in p ? (p.strength ?? null) : null,
    job_timestamp: timestamp(view.started_at),
    clip_skip: 1,
    index_of_first_image: 0,
    infotexts: images.map((i, k) => infotext(p, seeds[k], i)),
    styles: [],
    version: 'darkroom',
    job_id: view.id,
  });
}

/** The error for a job that has not succeeded in time. */
export function notFinished(view: JobView, waitSeconds: number): AppError {
  if (view.status === 'failed')
    return new AppError(500, view.error?.code ?? 'job_failed', `job ${view.id} failed: ${view.error?.message}`);
  if (view.status === 'canceled') return new AppError(409, 'job_canceled', `job ${view.id} was interrupted`);
  return new AppError(
    504,
    'job_timeout',
    `job ${view.id} is still ${view.status} after ${waitSeconds} s; follow it at /v1/jobs/${view.id}`,
  );
}

/** Errors in FastAPI's shape, which A1111's clients read: `detail` is a message or a list of field errors. */
export function a1111ErrorBody(e: AppError) {
  const details = Array.isArray(e.details) ? (e.details as { field?: string; message?: string }[]) : [];
  if (e.status === 422 && details.length && details.every((d) => typeof d.field === 'string'))
    return {
      detail: details.map((d) => ({
        loc: ['body', ...d.field!.split('.')],
        msg: d.message ?? e.message,
        type: e.code,
      })),
    };
  return { detail: e.message, error: e.code };
}
