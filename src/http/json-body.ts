import type { Request, RequestHandler } from 'express';
import zlib from 'node:zlib';
import type { LimitSettings } from '../config';
import { AppError } from '../errors';
import { createJsonDepthGauge } from './json-depth';

/**
 * The body reader of a route that takes JSON. It is mounted on that route alone, after the key
 * check, so an unknown path or an unauthenticated request never has its body read. It bounds the
 * body by its size once inflated (MAX_JSON_BYTES) and by its nesting (MAX_JSON_DEPTH), both while
 * the bytes arrive, so neither a gzip bomb nor 16 million `[` ever reaches JSON.parse; and it
 * answers 415 to a body it cannot read instead of letting the route see `{}`.
 */

const JSON_TYPE = 'application/json';
export const MULTIPART_TYPE = 'multipart/form-data';

/** The Content-Encodings a JSON body may use, and what inflates each. */
const INFLATERS: Record<string, (() => zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress) | null> = {
  identity: null,
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

type Limits = Pick<LimitSettings, 'maxJsonBytes' | 'maxJsonDepth'>;

/** Neither Content-Length nor Transfer-Encoding: the client sent no body at all. */
const sentNoBody = (req: Request) =>
  req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined;

function unsupportedType(req: Request, accepted: string[]): AppError {
  const given = req.headers['content-type'];
  // What `curl -d` sends unless told otherwise: the commonest way to end up here.
  const hint = given?.startsWith('application/x-www-form-urlencoded')
    ? " (curl -d sends that; add -H 'content-type: application/json')"
    : '';
  const message = `${req.method} ${req.path} reads ${accepted.join(' or ')}, not ${given ? `"${given}"` : 'a body without Content-Type'}${hint}`;
  return new AppError(415, 'unsupported_media_type', message, { accepted }, { 'Accept-Post': accepted.join(', ') });
}

/** Reads the body as JSON into `req.body` (`{}` when there is none); multipart passes through when the route streams it itself. */
export function jsonBody(limits: Limits, options: { multipart?: boolean } = {}): RequestHandler {
  const accepted = options.multipart ? [JSON_TYPE, MULTIPART_TYPE] : [JSON_TYPE];
  return (req, _res, next) => {
    if (sentNoBody(req) || (!req.headers['content-type'] && req.headers['content-length'] === '0')) {
      req.body = {};
      return next();
    }
    if (options.multipart && req.is(MULTIPART_TYPE)) return next();
    if (!req.is(JSON_TYPE)) return next(unsupportedType(req, accepted));
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1].toLowerCase();
    if (charset && charset !== 'utf-8' && charset !== 'utf8') {
      return next(new AppError(415, 'unsupported_charset', `JSON bodies are read as UTF-8, not ${charset}`));
    }
    readJson(req, limits).then((body) => {
      req.body = body;
      next();
    }, next);
  };
}

/** Parses the whole body once it is in: `{}` when empty, and only an object or array at the top. */
function parseJson(data: Buffer): unknown {
  const text = data.toString('utf8').replace(/^\uFEFF/, '');
  if (!text.length) return {};
  if (!/^[ \t\n\r]*[[{]/.test(text)) throw new AppError(400, 'invalid_json', 'the body must be a JSON object or array');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new AppError(400, 'invalid_json', `the body is not valid JSON: ${(err as Error).message}`);
  }
}

type Inflater = zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress;
const encodingOf = (req: Request) => (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();

function readJson(req: Request, limits: Limits): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let inflater: Inflater | undefined;
    try {
      inflater = inflaterFor(req, limits.maxJsonBytes);
    } catch (err) {
      return reject(err);
    }
    collectJson(req, inflater, limits, resolve, reject);
  });
}

const tooLarge = (maxBytes: number, inflated: boolean) =>
  new AppError(
    413,
    'payload_too_large',
    `the JSON body is larger than ${maxBytes} bytes${inflated ? ' once inflated' : ''}`,
  );

/** The stream that inflates the body (none for identity); refuses what cannot be read before a byte is. */
function inflaterFor(req: Request, maxBytes: number): Inflater | undefined {
  const encoding = encodingOf(req);
  if (!(encoding in INFLATERS))
    throw new AppError(
      415,
      'unsupported_encoding',
      `Content-Encoding "${encoding}" is not supported; send identity, gzip, deflate or br`,
      undefined,
      { 'Accept-Encoding': 'gzip, deflate, br' },
    );
  const inflater = INFLATERS[encoding]?.();
  // Refused before a byte is read when the client says up front that it is too large.
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw tooLarge(maxBytes, !!inflater);
  return inflater;
}

/** The body's bytes as they arrive, held to MAX_JSON_BYTES (once inflated) and MAX_JSON_DEPTH. */
class JsonChunks {
  private readonly gauge: ReturnType<typeof createJsonDepthGauge>;
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly maxDepth: number,
    private readonly inflated: boolean,
  ) {
    this.gauge = createJsonDepthGauge(maxDepth);
  }

  /** Keeps one more chunk; returns the error to answer with when the body is now too large or too deep. */
  push(chunk: Buffer): AppError | undefined {
    this.size += chunk.length;
    if (this.size > this.maxBytes) return tooLarge(this.maxBytes, this.inflated);
    if (!this.gauge.push(chunk))
      return new AppError(
        400,
        'json_too_deep',
        `the JSON body nests arrays and objects deeper than ${this.maxDepth} levels`,
      );
    this.chunks.push(chunk);
    return undefined;
  }

  drop(): void {
    this.chunks.length = 0;
  }

  parse(): unknown {
    return parseJson(Buffer.concat(this.chunks, this.size));
  }
}

/**
 * Reads the body (through the inflater, when there is one), counting the bytes received and
 * inflated against MAX_JSON_BYTES and the nesting depth against MAX_JSON_DEPTH as they arrive.
 */
function collectJson(
  req: Request,
  inflater: Inflater | undefined,
  { maxJsonBytes: maxBytes, maxJsonDepth: maxDepth }: Limits,
  resolve: (body: unknown) => void,
  reject: (err: unknown) => void,
) {
  const body = new JsonChunks(maxBytes, maxDepth, !!inflater);
  let received = 0;
  let done = false;
  const stop = () => {
    done = true;
    req.off('data', onReceived).off('error', onAborted).off('aborted', onAborted);
    if (inflater) {
      req.unpipe(inflater);
      inflater.off('data', onData).off('end', onEnd).destroy();
    } else req.off('end', onEnd);
  };
  const fail = (err: AppError) => {
    if (done) return;
    stop();
    body.drop();
    // The rest of the body is read and dropped, so the connection can carry the error and the next request.
    req.resume();
    reject(err);
  };
  function onReceived(chunk: Buffer) {
    received += chunk.length;
    if (received > maxBytes) fail(tooLarge(maxBytes, !!inflater));
    else if (!inflater) onData(chunk);
  }
  function onData(chunk: Buffer) {
    if (done) return;
    const refused = body.push(chunk);
    if (refused) fail(refused);
  }
  function onEnd() {
    if (done) return;
    stop();
    try {
      resolve(body.parse());
    } catch (err) {
      reject(err);
    }
  }
  function onAborted() {
    fail(new AppError(400, 'request_aborted', 'the request body ended early'));
  }
  req.on('data', onReceived).on('error', onAborted).on('aborted', onAborted);
  if (!inflater) return void req.on('end', onEnd);
  inflater.on('data', onData).on('end', onEnd);
  inflater.on('error', (err) =>
    fail(new AppError(400, 'invalid_content_encoding', `the body is not valid ${encodingOf(req)}: ${err.message}`)),
  );
  req.pipe(inflater);
}
