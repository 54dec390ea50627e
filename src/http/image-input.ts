import { webcrypto } from 'node:crypto';
import type { LimitSettings } from '../config';
import { AppError } from '../errors';
import { inspectAndDecode } from '../imaging/image-codec';
import type { StagedImage } from '../jobs/job-contract';
import type { ModelManifest } from '../models/model-manifest';
import { kindOf } from '../models/model-kinds';
import { inputKey, inputPixelsKey, type BlobStore } from '../storage/blob-store';

/** An uploaded image before it is checked and staged. */
export interface UploadedImage {
  data: Buffer;
  filename?: string;
  /** Where it came from in the request, for error details. */
  field: string;
}

const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)?(;[\w-]+=[\w.-]+)*;base64,/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Decodes a base64 string or data URL; rejects anything that is not strict base64. */
export function decodeBase64Image(value: string, field: string): UploadedImage {
  const body = value.replace(DATA_URL, '').replace(/\s+/g, '');
  if (!BASE64.test(body)) {
    throw new AppError(422, 'invalid_base64', `${field} is not base64 or a base64 data URL`, [
      { field, message: 'not base64' },
    ]);
  }
  return { data: Buffer.from(body, body.includes('-') || body.includes('_') ? 'base64url' : 'base64'), field };
}

/** Refuses more than MAX_IMAGES_PER_REQUEST images, before any of them is decoded. */
export function checkImageCount(
  count: number,
  limits: Pick<LimitSettings, 'maxImagesPerRequest'>,
  field = 'images',
): void {
  if (count > limits.maxImagesPerRequest) {
    const message = `at most ${limits.maxImagesPerRequest} images per request (got ${count})`;
    throw new AppError(413, 'too_many_images', message, [{ field, message }]);
  }
}

/**
 * Checks every image (all problems at once), then writes them to the blob store under the job.
 * With the job's `model`, each upload is also decoded the way that model takes it and staged as
 * pixels, in the same decode as the check: workers read those and never decode an upload.
 */
export async function stageImages(
  images: UploadedImage[],
  jobId: string,
  store: BlobStore,
  limits: LimitSettings,
  model?: ModelManifest,
): Promise<StagedImage[]> {
  checkImageCount(images.length, limits);
  const recipe = model && kindOf(model).inputDecode?.(model, limits);
  const checked = await Promise.allSettled(
    images.map((img) => inspectAndDecode(img.data, limits.maxImagePixels, recipe)),
  );
  throwImageFailures(images, checked);
  return Promise.all(
    images.map(async (img, index) => {
      const { info, pixels } = (checked[index] as PromiseFulfilledResult<DecodedUpload>).value;
      const key = inputKey(jobId, index);
      await store.put(key, img.data);
      const staged: StagedImage = {
        key,
        bytes: img.data.length,
        width: info.width,
        height: info.height,
        format: info.format,
        filename: img.filename,
      };
      if (pixels) {
        const { data, ...shape } = pixels;
        // WebCrypto digests on libuv's pool, off the thread that answers HTTP.
        const sha256 = Buffer.from(await webcrypto.subtle.digest('SHA-256', data)).toString('hex');
        staged.pixels = { key: inputPixelsKey(jobId, index), ...shape, sha256 };
        await store.put(staged.pixels.key, data);
      }
      return staged;
    }),
  );
}

type DecodedUpload = Awaited<ReturnType<typeof inspectAndDecode>>;

/** One error for every image that failed its check, each named by its field. */
function throwImageFailures(images: UploadedImage[], checked: PromiseSettledResult<unknown>[]): void {
  const failures = checked.flatMap((r, i) =>
    r.status === 'rejected' ? [{ field: images[i].field, error: r.reason as unknown }] : [],
  );
  if (!failures.length) return;
  const first = failures[0].error;
  if (!(first instanceof AppError)) throw first;
  const details = failures.map((f) => ({
    field: f.field,
    code: (f.error as AppError).code,
    message: (f.error as AppError).message,
  }));
  throw new AppError(first.status, first.code, `${failures[0].field}: ${first.message}`, details);
}
