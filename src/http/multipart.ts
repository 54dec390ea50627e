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

/**
 * Reads a multipart/form-data request with hard limits. The whole body is capped (`maxBytes`,
 * MAX_UPLOAD_BYTES), not only each file: it is counted as it streams through the parser, so a
 * request holds at most `maxBytes` of parts however many it sends, and one that goes over is a
 * 413 at once, its parts dropped and the rest of its bytes discarded unread.
 */
export function readMultipart(req: Request, limits: { maxBytes: number; files: number }): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    const tooLarge = () =>
      new AppError(
        413,
        'payload_too_large',
        `the multipart body is larger than ${limits.maxBytes} bytes, all parts together`,
      );
    // Refused before a byte is read when the client says up front that it is too large.
    if (Number(req.headers['content-length'] ?? 0) > limits.maxBytes) {
      reject(tooLarge());
      return;
    }
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: {
          fileSize: limits.maxBytes,
          files: limits.files,
          fields: 20,
          fieldSize: 64 * 1024,
          parts: limits.files + 20,
        },
      });
    } catch (err) {
      reject(new AppError(400, 'invalid_multipart', `malformed multipart request: ${(err as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    const files: UploadedImage[] = [];
    let failed = false;
    let received = 0;
    const fail = (err: AppError) => {
      if (failed) return;
      failed = true;
      req.off('data', count);
      // Not destroyed: that would fail every open part's stream. Unpiped, it gets no more bytes.
      req.unpipe(parser);
      // Whatever was held goes now, not when the client has finished sending.
      for (const f of files) f.data = Buffer.alloc(0);
      files.length = 0;
      req.resume();
      reject(err);
    };
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.maxBytes) fail(tooLarge());
    };
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (!IMAGE_FIELDS.has(name)) {
        stream.resume();
        fail(
          new AppError(422, 'unexpected_field', `unexpected file field "${name}"; send images as "image"`, [
            { field: name, message: 'unexpected file field' },
          ]),
        );
        return;
      }
      const chunks: Buffer[] = [];
      const index = files.length;
      const upload: UploadedImage = { data: Buffer.alloc(0), filename: info.filename, field: `image[${index}]` };
      files.push(upload);
      stream.on('data', (c: Buffer) => {
        if (!failed) chunks.push(c);
      });
      // A part cut off mid-file errors on its stream: unhandled, that would take the process down.
      stream.on('error', (err: Error) =>
        fail(new AppError(400, 'invalid_multipart', `malformed multipart request: ${err.message}`)),
      );
      stream.on('limit', () => fail(tooLarge()));
      stream.on('end', () => {
        if (!failed) upload.data = Buffer.concat(chunks);
        chunks.length = 0;
      });
    });
    parser.on('filesLimit', () =>
      fail(new AppError(413, 'too_many_images', `at most ${limits.files} images per request`)),
    );
    parser.on('partsLimit', () => fail(new AppError(413, 'too_many_parts', 'too many parts in the multipart body')));
    parser.on('fieldsLimit', () => fail(new AppError(413, 'too_many_fields', 'too many fields in the multipart body')));
    parser.on('error', (err: Error) =>
      fail(new AppError(400, 'invalid_multipart', `malformed multipart request: ${err.message}`)),
    );
    parser.on('close', () => {
      if (!failed) resolve({ fields, files });
    });
    req.on('error', (err) => fail(new AppError(400, 'invalid_multipart', `request aborted: ${err.message}`)));
    req.on('data', count);
    req.pipe(parser);
  });
}
