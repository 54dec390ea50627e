import { AppError, notFound } from '../errors';
import { isCancelRequested } from '../jobs/job-cancellation';
import { withoutMetadata } from '../imaging/image-codec';
import { jobIdTime, type JobPayload } from '../jobs/job-contract';
import { jobTypeOf } from '../jobs/job-types';
import type { JobState } from 'bullmq';
import type { Readable } from 'node:stream';
import { BlobNotFoundError, cleanInputKey } from '../storage/blob-store';
import type { DarkroomJob } from '../jobs/job-queues';
import type { QueueEstimate } from '../jobs/queue-estimates';
import { viewJob, type JobView } from '../jobs/job-view';
import type { AppDeps } from './app-deps';
import { jobOwner } from '../auth/api-keys';
import type { ZipEntry } from './zip-stream';

/**
 * Loads a job by id for `owner`, or throws 404: another key's job is indistinguishable from a
 * missing one. `type` restricts it to one kind of job.
 */
export async function findJob(
  { queues }: AppDeps,
  owner: string,
  id: string,
  type?: JobPayload['type'],
): Promise<DarkroomJob> {
  const job = await queues.getJob(id);
  if (!job) {
    // Gone, and made longer ago than jobs are kept: it expired (with its files).
    const made = jobIdTime(id);
    if (made !== undefined && Date.now() - made > queues.policy.retentionSeconds * 1000) {
      throw new AppError(
        410,
        'expired',
        `${type === 'batch' ? 'batch' : 'job'} ${id} has expired: results are kept for ${queues.policy.retentionSeconds} s`,
      );
    }
  }
  if (!job || (type && job.data.type !== type) || jobOwner(job.data) !== owner)
    throw notFound(type === 'batch' ? `batch ${id}` : `job ${id}`);
  return job;
}

/** The public view of a job, with a pending cancel request taken into account. */
export async function viewOf(deps: AppDeps, job: DarkroomJob): Promise<JobView> {
  const id = String(job.id);
  const [state, cancelRequested] = await Promise.all([
    job.getState(),
    isCancelRequested(deps.redis, deps.config.redis.prefix, id),
  ]);
  // The record may predate the job's finish: read it again so result and state agree.
  if ((state === 'completed' || state === 'failed') && !job.finishedOn) {
    const fresh = await deps.queues.getJob(id);
    if (fresh) return viewJob(fresh, state, cancelRequested);
  }
  return viewJob(job, state, cancelRequested, await estimateOf(deps, job, state));
}

const UNKNOWN_ESTIMATE: QueueEstimate = { queue_position: null, eta_seconds: null };

/** Place in line and ETA of an unfinished job; unknown rather than an error when they cannot be read. */
async function estimateOf(
  deps: AppDeps,
  job: DarkroomJob,
  state: JobState | 'unknown',
): Promise<QueueEstimate | undefined> {
  if (state === 'completed' || state === 'failed') return undefined;
  if (!deps.estimates) return undefined;
  if (state !== 'waiting' && state !== 'prioritized' && state !== 'active') return UNKNOWN_ESTIMATE;
  try {
    return await deps.estimates.estimate(job, state);
  } catch (err) {
    deps.logger.debug({ jobId: job.id, err: (err as Error).message }, 'queue estimate unavailable');
    return UNKNOWN_ESTIMATE;
  }
}

const EXT: Record<string, string> = { 'image/png': 'png', 'image/webp': 'webp', 'image/jpeg': 'jpg' };

/** The files of a finished job for a zip: its images (or inputs) under `folder`, and the manifest data. */
export function jobArchiveEntries(
  deps: AppDeps,
  job: DarkroomJob,
  view: JobView,
  folder = '',
): { entries: ZipEntry[]; manifest: Record<string, unknown> } {
  const entries: ZipEntry[] = [];
  const files: Record<string, unknown>[] = [];
  const type = jobTypeOf(job.data);
  if (view.status === 'succeeded') {
    for (const image of type.outputImages(job.returnvalue)) {
      const name = `${folder}image-${String(image.index).padStart(3, '0')}.${EXT[image.content_type] ?? 'bin'}`;
      entries.push({ name, open: () => deps.store.open(image.key) });
      files.push({
        file: name,
        index: image.index,
        seed: image.seed,
        width: image.width,
        height: image.height,
        content_type: image.content_type,
        bytes: image.bytes,
      });
    }
  }
  for (const [index, input] of type.inputs(job.data).entries()) {
    // Inputs go back without their metadata (EXIF, GPS): formats sharp can't write become PNG.
    const ext = input.format === 'jpeg' ? 'jpg' : input.format === 'webp' ? 'webp' : 'png';
    const name = `${folder}input-${String(index).padStart(3, '0')}.${ext}`;
    entries.push({ name, open: () => cleanInput(deps, cleanInputKey(String(job.id), index), input.key) });
    files.push({
      file: name,
      input: true,
      index,
      filename: input.filename,
      width: input.width,
      height: input.height,
      bytes: input.bytes,
    });
  }
  const { result: _result, ...summary } = view;
  return {
    entries,
    manifest: {
      ...summary,
      ...(view.result && type.resultInArchive ? { result: view.result } : {}),
      files,
    },
  };
}

/**
 * An input without its metadata. Re-encoding a large photo takes seconds, so it is done on the
 * first download and stored at `cleanKey`; later downloads stream the stored bytes. Concurrent
 * first downloads may both encode: puts are atomic and write the same bytes, so neither corrupts.
 */
async function cleanInput(deps: AppDeps, cleanKey: string, inputKey: string): Promise<Readable | Buffer> {
  try {
    return await deps.store.open(cleanKey);
  } catch (err) {
    if (!(err instanceof BlobNotFoundError)) throw err;
  }
  const { data } = await withoutMetadata(await deps.store.get(inputKey), deps.config.limits.maxImagePixels);
  // Not storing it only costs the next download another encode: serve this one regardless.
  await deps.store
    .put(cleanKey, data)
    .catch((err: Error) => deps.logger.warn({ key: cleanKey, err: err.message }, 'clean copy of an input not stored'));
  return data;
}

/** 409 unless the job has finished successfully. */
export function requireSucceeded(view: JobView): void {
  if (view.status !== 'succeeded') {
    throw new AppError(
      409,
      'job_not_succeeded',
      `job ${view.id} is ${view.status}; results are available once it has succeeded`,
    );
  }
}
