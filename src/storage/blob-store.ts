import type { Readable } from 'node:stream';

/**
 * Where image bytes live: inputs staged by the API and outputs written by workers. Keys are
 * `jobs/<jobId>/...`, so one job's files can be removed together and a retried job overwrites
 * its own outputs instead of adding new ones.
 */
export interface BlobStore {
  /** Writes atomically: readers see the old bytes or the new ones, never a part. */
  put(key: string, data: Buffer): Promise<void>;
  get(key: string): Promise<Buffer>;
  /**
   * Reads the blob's first `target.length` bytes into `target` and returns how many there were
   * (fewer when the blob is shorter). For a reader that knows the size and reuses its buffers: no
   * new buffer per read. Rejects with BlobNotFoundError when missing.
   */
  readInto(key: string, target: Uint8Array): Promise<number>;
  /** A stream of the bytes; rejects with BlobNotFoundError when missing. */
  open(key: string): Promise<Readable>;
  size(key: string): Promise<number | undefined>;
  /** Removes every key under `prefix`. */
  removePrefix(prefix: string): Promise<void>;
  /**
   * Removes job folders whose newest file is older than `maxAgeMs` and whose job is not live
   * (`isLive`, when given: a job still queued keeps its inputs however old); returns how many.
   */
  sweep(maxAgeMs: number, isLive?: (jobId: string) => Promise<boolean>): Promise<number>;
  /** A URL that serves the bytes without darkroom for `seconds`; only stores that can sign one have it. */
  presignedUrl?(key: string, seconds: number): Promise<string>;
}

export class BlobNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`blob ${key} not found`);
    this.name = 'BlobNotFoundError';
  }
}

const SAFE_KEY = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*\/?$/;

/** Rejects keys that could leave the store's root: only plain path segments, no `.` or `..`. */
export function assertSafeKey(key: string): string {
  if (!SAFE_KEY.test(key) || key.split('/').some((part) => part === '.' || part === '..'))
    throw new Error(`unsafe blob key ${key}`);
  return key;
}

export const jobPrefix = (jobId: string) => `jobs/${jobId}/`;
export const inputKey = (jobId: string, index: number) => `jobs/${jobId}/inputs/${index}`;
/** An input's pixels as its model takes them (raw 8-bit, row-major, interleaved channels). */
export const inputPixelsKey = (jobId: string, index: number) => `jobs/${jobId}/inputs-pixels/${index}`;
/** An input without its metadata, as zips serve it: made once, beside the input, so it goes with the job. */
export const cleanInputKey = (jobId: string, index: number) => `jobs/${jobId}/inputs-clean/${index}`;
export const outputKey = (jobId: string, index: number, ext: string) => `jobs/${jobId}/outputs/${index}.${ext}`;
