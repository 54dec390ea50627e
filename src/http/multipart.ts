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

const malformed = (message: string) =>
  new AppError(400, 'invalid_multipart', `malformed multipart request: ${message}`);
const tooLarge = (maxBytes: number) =>
  new AppError(413, 'payload_too_large', `the multipart body is larger than ${maxBytes} bytes, all parts together`);

/** What the parts read so far hold, and whether the request has already failed. */
interface Reading {
  body: MultipartBody;
  failed: boolean;
  fail(err: AppError): void;
}

/**
 * Reads a multipart/form-data request with hard limits. The whole body is capped (`maxBytes`,
 * MAX_UPLOAD_BYTES), not only each file: it is counted as it streams through the parser, so a
 * request holds at most `maxBytes` of parts however many it sends, and one that goes over is a
 * 413 at once, its parts dropped and the rest of its bytes discarded unread.
 */
export function readMultipart(req: Request, limits: { maxBytes: number; files: number }): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    // Refused before a byte is read when the client says up front that it is too large.
    if (Number(req.headers['content-length'] ?? 0) > limits.maxBytes) return reject(tooLarge(limits.maxBytes));
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
      return reject(malformed((err as Error).message));
    }
    let received = 0;
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limits.maxBytes) reading.fail(tooLarge(limits.maxBytes));
    };
    const reading: Reading = {
      body: { fields: {}, files: [] },
      failed: false,
      fail(err) {
        if (reading.failed) return;
        reading.failed = true;
        req.off('data', count);
        // Not destroyed: that would fail every open part's stream. Unpiped, it gets no more bytes.
        req.unpipe(parser);
        // Whatever was held goes now, not when the client has finished sending.
        for (const f of reading.body.files) f.data = Buffer.alloc(0);
        reading.body.files.length = 0;
        req.resume();
        reject(err);
      },
    };
    parser.on('field', (name, value) => void (reading.body.fields[name] = value));
    parser.on('file', (name, stream, info) => readFilePart(reading, name, stream, info.filename, limits.maxBytes));
    failOnLimits(parser, reading, limits.files);
    parser.on('close', () => {
      if (!reading.failed) resolve(reading.body);
    });
    req.on('error', (err) => reading.fail(new AppError(400, 'invalid_multipart', `request aborted: ${err.message}`)));
    req.on('data', count);
    req.pipe(parser);
  });
}

function readFilePart(
  reading: Reading,
  name: string,
  stream: NodeJS.ReadableStream,
  filename: string | undefined,
  maxBytes: number,
) {
  if (!IMAGE_FIELDS.has(name)) {
    stream.resume();
    reading.fail(
      new AppError(422, 'unexpected_field', `unexpected file field "${name}"; send images as "image"`, [
        { field: name, message: 'unexpected file field' },
      ]),
    );
    return;
  }
  const chunks: Buffer[] = [];
  const upload: UploadedImage = { data: Buffer.alloc(0), filename, field: `image[${reading.body.files.length}]` };
  reading.body.files.push(upload);
  stream.on('data', (c: Buffer) => {
    if (!reading.failed) chunks.push(c);
  });
  // A part cut off mid-file errors on its stream: unhandled, that would take the process down.
  stream.on('error', (err: Error) => reading.fail(malformed(err.message)));
  stream.on('limit', () => reading.fail(tooLarge(maxBytes)));
  stream.on('end', () => {
    if (!reading.failed) upload.data = Buffer.concat(chunks);
    chunks.length = 0;
  });
}

function failOnLimits(parser: busboy.Busboy, reading: Reading, maxFiles: number) {
  parser.on('filesLimit', () =>
    reading.fail(new AppError(413, 'too_many_images', `at most ${maxFiles} images per request`)),
  );
  parser.on('partsLimit', () =>
    reading.fail(new AppError(413, 'too_many_parts', 'too many parts in the multipart body')),
  );
  parser.on('fieldsLimit', () =>
    reading.fail(new AppError(413, 'too_many_fields', 'too many fields in the multipart body')),
  );
  parser.on('error', (err: Error) => reading.fail(malformed(err.message)));
}
