import sharp from 'sharp';
import { AppError } from '../errors';
import type { OutputFormat } from '../jobs/job-contract';

/**
 * The only module that touches sharp. Inputs are untrusted: an explicit pixel limit, the first
 * frame only, EXIF orientation applied, colour converted to 8-bit sRGB, and every decode failure
 * turned into a client error with a stable code. Outputs carry no metadata (sharp strips it).
 */

export interface ImageInfo {
  format: string;
  /** Size after EXIF orientation. */
  width: number;
  height: number;
}

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 3;
}

export type ResizeFit = 'shorter_side_crop' | 'cover' | 'stretch' | 'contain';
export type ResizeFilter = 'nearest' | 'linear' | 'cubic' | 'lanczos3';

/** How an image is decoded: the pixel limit, and the size, fit and filter a model takes (none: as it is). */
export interface DecodeOptions {
  maxPixels: number;
  width?: number;
  height?: number;
  fit?: ResizeFit;
  shorterSide?: number;
  filter?: ResizeFilter;
  channels?: 1 | 3;
}

const SUPPORTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'heif', 'avif', 'tiff']);

function open(buf: Buffer, maxPixels: number) {
  // failOn 'truncated' rejects cut-off files while still accepting files with harmless warnings.
  return sharp(buf, { limitInputPixels: maxPixels, pages: 1, page: 0, failOn: 'truncated' });
}

/** Turns a sharp/libvips failure into the client error it stands for. */
export function imageError(err: unknown): AppError {
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
  if (/exceeds pixel limit/i.test(message))
    return new AppError(413, 'image_too_large', 'the image has more pixels than this server accepts');
  if (/unsupported image format/i.test(message))
    return new AppError(
      415,
      'unsupported_image_format',
      'the data is not an image in a supported format (JPEG, PNG, WebP, GIF, AVIF/HEIF, TIFF)',
    );
  return new AppError(
    422,
    'invalid_image',
    `the image could not be decoded: ${message.replace(/^Input (file|buffer) /, '')}`,
  );
}

/** Reads the header of an upload and checks it against the limits; decodes nothing yet. */
async function checkedInfo(buf: Buffer, maxPixels: number): Promise<ImageInfo> {
  if (buf.length === 0) throw new AppError(422, 'empty_image', 'the image is empty (0 bytes)');
  const meta = await open(buf, maxPixels).metadata();
  if (!meta.format || !SUPPORTED_FORMATS.has(meta.format)) {
    throw new AppError(415, 'unsupported_image_format', `image format ${meta.format ?? 'unknown'} is not supported`);
  }
  if (!meta.width || !meta.height) throw new AppError(422, 'invalid_image', 'the image has no dimensions');
  if (meta.width * meta.height > maxPixels)
    throw new AppError(
      413,
      'image_too_large',
      `the image has ${meta.width}x${meta.height} pixels; the limit is ${maxPixels}`,
    );
  const swap = (meta.orientation ?? 1) >= 5;
  return { format: meta.format, width: swap ? meta.height : meta.width, height: swap ? meta.width : meta.height };
}

/** Checks that `buf` is a complete, decodable image within limits, and reports its size. */
export async function inspectImage(buf: Buffer, maxPixels: number): Promise<ImageInfo> {
  try {
    const info = await checkedInfo(buf, maxPixels);
    // A full decode (shrunk on load, so cheap) catches truncated and corrupt data.
    await open(buf, maxPixels).resize(64, 64, { fit: 'inside' }).raw().toBuffer();
    return info;
  } catch (err) {
    throw err instanceof AppError ? err : imageError(err);
  }
}

/**
 * Checks an upload like `inspectImage` and, when `recipe` is given and the image is within its
 * pixel limit, decodes it the way a model takes it: the check and the model's decode in one.
 */
export async function inspectAndDecode(
  buf: Buffer,
  maxPixels: number,
  recipe?: DecodeOptions,
): Promise<{ info: ImageInfo; pixels?: RawImage }> {
  try {
    const info = await checkedInfo(buf, maxPixels);
    if (!recipe || info.width * info.height > recipe.maxPixels) return { info: await inspectImage(buf, maxPixels) };
    return { info, pixels: await decodeImage(buf, recipe) };
  } catch (err) {
    throw err instanceof AppError ? err : imageError(err);
  }
}

/** Decodes to 8-bit sRGB (or 1-channel luma), oriented, optionally resized to width x height (lanczos3 unless `filter` says). */
export async function decodeImage(buf: Buffer, opts: DecodeOptions): Promise<RawImage> {
  try {
    let pipeline = open(buf, opts.maxPixels).rotate();
    const { width, height } = opts;
    const kernel = opts.filter ?? 'lanczos3';
    const crop = width && height && opts.fit === 'shorter_side_crop' ? { width, height } : undefined;
    if (crop) {
      // The ImageNet recipe: scale so the shorter side is `side` (never less than the crop), then
      // cut the centre out of the decoded pixels below.
      const side = Math.max(opts.shorterSide ?? 0, crop.width, crop.height);
      pipeline = pipeline.resize(side, side, { fit: 'outside', kernel });
    } else if (width && height && opts.fit !== 'shorter_side_crop') {
      const fit = opts.fit ?? 'stretch';
      pipeline = pipeline.resize(width, height, { fit: fit === 'stretch' ? 'fill' : fit, kernel });
    }
    pipeline = pipeline.flatten({ background: '#000' });
    pipeline =
      opts.channels === 1
        ? pipeline.toColourspace('b-w').extractChannel(0)
        : pipeline.toColourspace('srgb').removeAlpha();
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    const channels = opts.channels ?? 3;
    if (info.channels !== channels) throw new Error(`decoded ${info.channels} channels, expected ${channels}`);
    const image: RawImage = { data, width: info.width, height: info.height, channels };
    return crop ? centreCrop(image, crop.width, crop.height) : image;
  } catch (err) {
    throw err instanceof AppError ? err : imageError(err);
  }
}

/** The centre `width` x `height` of raw pixels at least that large (left and top offsets rounded down). */
function centreCrop(image: RawImage, width: number, height: number): RawImage {
  if (image.width === width && image.height === height) return image;
  const { channels } = image;
  const left = Math.floor((image.width - width) / 2);
  const top = Math.floor((image.height - height) / 2);
  const row = width * channels;
  const out = Buffer.allocUnsafe(row * height);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * image.width + left) * channels;
    image.data.copy(out, y * row, from, from + row);
  }
  return { data: out, width, height, channels };
}

/** Encodes raw pixels, optionally resized first; the output carries no metadata. */
export async function encodeImage(
  raw: RawImage,
  format: OutputFormat,
  resize?: { width: number; height: number; kernel: 'nearest' | 'cubic' | 'lanczos3'; fit?: 'fill' | 'cover' },
): Promise<Buffer> {
  let pipeline = sharp(raw.data, { raw: { width: raw.width, height: raw.height, channels: raw.channels } });
  if (resize && (resize.width !== raw.width || resize.height !== raw.height)) {
    pipeline = pipeline.resize(resize.width, resize.height, { kernel: resize.kernel, fit: resize.fit ?? 'fill' });
  }
  switch (format) {
    case 'png':
      return pipeline.png({ compressionLevel: 6 }).toBuffer();
    case 'webp':
      return pipeline.webp({ quality: 90 }).toBuffer();
    case 'jpeg':
      return pipeline.jpeg({ quality: 90, mozjpeg: false }).toBuffer();
  }
}

/** Resizes raw pixels to exactly width x height (aspect ratio not kept), keeping the channel count. */
export async function resizeRaw(
  raw: RawImage,
  width: number,
  height: number,
  kernel: 'nearest' | 'cubic' | 'lanczos3' = 'cubic',
): Promise<RawImage> {
  // A 1-channel raw input comes back as 3 channels unless it is told to stay grey.
  const { data, info } = await sharp(raw.data, {
    raw: { width: raw.width, height: raw.height, channels: raw.channels },
  })
    .resize(width, height, { kernel, fit: 'fill' })
    .toColourspace(raw.channels === 1 ? 'b-w' : 'srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== raw.channels) throw new Error(`resized to ${info.channels} channels, expected ${raw.channels}`);
  return { data, width: info.width, height: info.height, channels: raw.channels };
}

/**
 * An upload as it may be handed back (in zips): same format, orientation applied, and no
 * metadata, so a photo's EXIF/GPS never leaves the server again. Formats sharp cannot write
 * back become PNG.
 */
export async function withoutMetadata(buf: Buffer, maxPixels: number): Promise<{ data: Buffer; format: string }> {
  try {
    const image = sharp(buf, { limitInputPixels: maxPixels, pages: 1, page: 0 }).rotate();
    const format = (await image.metadata()).format;
    switch (format) {
      case 'jpeg':
        return { data: await image.jpeg({ quality: 95 }).toBuffer(), format };
      case 'webp':
        return { data: await image.webp({ quality: 95 }).toBuffer(), format };
      default:
        return { data: await image.png().toBuffer(), format: 'png' };
    }
  } catch (err) {
    throw imageError(err);
  }
}
