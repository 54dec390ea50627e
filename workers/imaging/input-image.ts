import { decodeImage, type DecodeOptions, type RawImage } from '../../src/imaging/image-codec';
import type { StagedImage } from '../../src/jobs/job-contract';
import type { BlobStore } from '../../src/storage/blob-store';

/** An input as the model takes it, and what identifies its content (identical bytes give identical pixels). */
export interface InputImage {
  image: RawImage;
  /**
   * What a result cache keys the input on: the SHA-256 the API took of the staged pixels, else the
   * bytes themselves (the pixels, or the upload the worker decoded) for the cache to hash.
   */
  content: string | Buffer;
  /** `image.data` is the buffer `into` gave (readInputImage's argument): the caller's to reuse. */
  inBuffer: boolean;
}

/**
 * A job's input image decoded the way `recipe` says. The API normally staged exactly these
 * pixels (it decodes each upload once, to check it), so this is a read; only a job from an
 * older API, or pixels of another shape (the model's manifest changed since), are decoded here.
 * With `into`, staged pixels are read into the buffer it gives for their length (a pooled one:
 * no new buffer per image, which V8 would count as fresh external memory).
 */
export async function readInputImage(
  store: BlobStore,
  input: StagedImage,
  recipe: DecodeOptions,
  into?: (length: number) => Uint8Array,
): Promise<InputImage> {
  const { pixels } = input;
  const width = recipe.width ?? input.width;
  const height = recipe.height ?? input.height;
  const channels = recipe.channels ?? 3;
  if (pixels && pixels.width === width && pixels.height === height && pixels.channels === channels) {
    const length = width * height * channels;
    const target = into?.(length);
    const data = target
      ? Buffer.from(target.buffer, target.byteOffset, await store.readInto(pixels.key, target))
      : await store.get(pixels.key);
    if (data.length === length)
      return {
        image: { data, width, height, channels },
        content: pixels.sha256 ? `pixels:${pixels.sha256}` : data,
        inBuffer: target !== undefined,
      };
  }
  const bytes = await store.get(input.key);
  return { image: await decodeImage(bytes, recipe), content: bytes, inBuffer: false };
}
