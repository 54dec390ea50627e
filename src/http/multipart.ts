import busboy from 'busboy';
import type { Request } from 'express';
import { AppError } from '../errors';
import type { UploadedImage } from './image-input';

export interface MultipartBody {
  fields: Record<string, string>;
  files: UploadedImage[];
}

/** Image parts may be named `image`, `image[]` or `images`. */
const IMAGE_FIELDS = new Set(['image', 'image[]', 'images', 'images[]']);

/** Reads a multipart/form-data request with hard limits; oversize parts are a 413, never buffered. */
export function readMultipart(req: Request, limits: { fileBytes: number; files: number }): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: limits.fileBytes, files: limits.files, fields: 20, fieldSize: 64 * 1024, parts: limits.files + 20 } });
    } catch (err) {
      reject(new AppError(400, 'invalid_multipart', `malformed multipart request: ${(err as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    const files: UploadedImage[] = [];
    let failed = false;
    const fail = (err: AppError) => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      req.resume();
      reject(err);
    };
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (!IMAGE_FIELDS.has(name)) {
        stream.resume();
        fail(new AppError(422, 'unexpected_field', `unexpected file field "${name}"; send images as "image"`, [{ field: name, message: 'unexpected file field' }]));
        return;
      }
      const chunks: Buffer[] = [];
      const index = files.length;
      const upload: UploadedImage = { data: Buffer.alloc(0), filename: info.filename, field: `image[${index}]` };
      files.push(upload);
      stream.on('data', (c: Buffer) => chunks.push(c));
      // A part cut off mid-file errors on its stream: unhandled, that would take the process down.
      stream.on('error', (err: Error) => fail(new AppError(400, 'invalid_multipart', `malformed multipart request: ${err.message}`)));
      stream.on('limit', () => fail(new AppError(413, 'file_too_large', `image ${info.filename ?? index} is larger than ${limits.fileBytes} bytes`)));
      stream.on('end', () => {
        upload.data = Buffer.concat(chunks);
      });
    });
    parser.on('filesLimit', () => fail(new AppError(413, 'too_many_images', `at most ${limits.files} images per request`)));
    parser.on('partsLimit', () => fail(new AppError(413, 'too_many_parts', 'too many parts in the multipart body')));
    parser.on('fieldsLimit', () => fail(new AppError(413, 'too_many_fields', 'too many fields in the multipart body')));
    parser.on('error', (err: Error) => fail(new AppError(400, 'invalid_multipart', `malformed multipart request: ${err.message}`)));
    parser.on('close', () => {
      if (!failed) resolve({ fields, files });
    });
    req.on('error', (err) => fail(new AppError(400, 'invalid_multipart', `request aborted: ${err.message}`)));
    req.pipe(parser);
  });
}
