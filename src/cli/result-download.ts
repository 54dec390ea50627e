import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { JobView } from '../jobs/job-view';
import type { ApiClient } from './api-client';
import { imagesOf } from './job-format';

const EXTENSION: Record<string, string> = { 'image/png': 'png', 'image/webp': 'webp', 'image/jpeg': 'jpg' };

/** Whether `-o` names a zip file (otherwise it names a folder). */
export const isZipPath = (output: string) => output.toLowerCase().endsWith('.zip');

/** Streams to `<dest>.part` and renames when complete, so a failed download leaves no half file. */
export async function saveStream(source: Readable, dest: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(path.resolve(dest)), { recursive: true });
  const partial = `${dest}.part`;
  try {
    await pipeline(source, fs.createWriteStream(partial));
    await fs.promises.rename(partial, dest);
  } catch (err) {
    await fs.promises.rm(partial, { force: true });
    throw err;
  }
}

/** GET /v1/jobs/{id}/archive (images + manifest.json) into the zip file `dest`. */
export async function saveArchive(client: ApiClient, job: JobView, dest: string): Promise<string[]> {
  await saveStream(await client.openStream(`/v1/jobs/${encodeURIComponent(job.id)}/archive`), dest);
  return [dest];
}

/** GET /v1/jobs/{id}/images/{i} for every image into `dir`, named `<job id>-<index>.<ext>`. */
export async function saveImages(client: ApiClient, job: JobView, dir: string): Promise<string[]> {
  const saved: string[] = [];
  for (const image of imagesOf(job)) {
    const file = path.join(
      dir,
      `${job.id}-${String(image.index).padStart(3, '0')}.${EXTENSION[image.content_type] ?? 'bin'}`,
    );
    await saveStream(await client.openStream(`/v1/jobs/${encodeURIComponent(job.id)}/images/${image.index}`), file);
    saved.push(file);
  }
  return saved;
}
