import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type _Object,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable } from 'node:stream';
import { assertSafeKey, BlobNotFoundError, type BlobStore } from './blob-store';

export interface S3BlobStoreOptions {
  bucket: string;
  region: string;
  /** For S3-compatible services (MinIO, R2, ...); unset means AWS. */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Unset means the default AWS credential chain (environment, profile, instance role, ...). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Prepended to every key, so several deployments can share one bucket. */
  prefix?: string;
}

export interface S3BlobStore extends BlobStore {
  presignedUrl(key: string, seconds: number): Promise<string>;
  /** Closes the client's pooled connections. */
  close(): void;
}

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  webp: 'image/webp',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  json: 'application/json',
};

/** Whether an SDK error means "no such object" (GetObject says NoSuchKey, HeadObject only 404). */
const isMissing = (err: unknown) => {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
};

/** Groups the listed objects under `jobs/` by job id: each job's keys and newest modification. */
function groupByJob(page: _Object[], jobsRoot: string, jobs: Map<string, { newest: number; keys: string[] }>) {
  for (const o of page) {
    if (!o.Key) continue;
    const id = o.Key.slice(jobsRoot.length).split('/')[0];
    const job = jobs.get(id) ?? { newest: 0, keys: [] };
    job.newest = Math.max(job.newest, o.LastModified?.getTime() ?? 0);
    job.keys.push(o.Key);
    jobs.set(id, job);
  }
}

/**
 * A blob store in an S3 bucket (or any S3-compatible service), for API and workers on different
 * machines. A PUT replaces an object atomically, so `put` needs no temporary key. `sweep` lists the
 * whole `jobs/` prefix: production buckets should also expire old objects with a lifecycle rule.
 */
export function createS3BlobStore(options: S3BlobStoreOptions): S3BlobStore {
  return new S3Bucket(options);
}

class S3Bucket implements S3BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly root: string;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.root = options.prefix ? `${options.prefix.replace(/\/+$/, '')}/` : '';
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials,
      // Fail fast on an unreachable endpoint; no idle timeout, since a slow zip download pauses reads.
      requestHandler: { connectionTimeout: 10_000 },
      // Many S3-compatible services reject the SDK's newer default checksums; AWS itself accepts either.
      ...(options.endpoint
        ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
        : {}),
    });
  }

  private fullKey(key: string) {
    return this.root + assertSafeKey(key);
  }

  async put(key: string, data: Buffer) {
    const ext = /\.(\w+)$/.exec(key)?.[1]?.toLowerCase() ?? '';
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.fullKey(key),
        Body: data,
        ContentLength: data.length,
        ContentType: CONTENT_TYPES[ext] ?? 'application/octet-stream',
      }),
    );
  }

  async get(key: string) {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.open(key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async readInto(key: string, target: Uint8Array) {
    let filled = 0;
    for await (const chunk of await this.open(key)) {
      const bytes = chunk as Buffer;
      const n = Math.min(bytes.length, target.length - filled);
      target.set(bytes.subarray(0, n), filled);
      filled += n;
      if (filled === target.length) break;
    }
    return filled;
  }

  async open(key: string) {
    try {
      const { Body } = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      if (!(Body instanceof Readable)) throw new Error(`S3 returned no stream for ${key}`);
      return Body;
    } catch (err) {
      throw isMissing(err) ? new BlobNotFoundError(key) : err;
    }
  }

  async size(key: string) {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
      return head.ContentLength;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async removePrefix(prefix: string) {
    // Like a folder on disk: `jobs/a` removes the key itself and what is under `jobs/a/`, not `jobs/ab`.
    const full = this.fullKey(prefix);
    const keys = full.endsWith('/') ? [] : [full];
    for await (const page of this.list(full.endsWith('/') ? full : `${full}/`))
      for (const o of page) if (o.Key) keys.push(o.Key);
    await this.deleteKeys(keys);
  }

  async sweep(maxAgeMs: number, isLive?: (jobId: string) => Promise<boolean>) {
    const cutoff = Date.now() - maxAgeMs;
    const jobs = new Map<string, { newest: number; keys: string[] }>();
    const jobsRoot = `${this.root}jobs/`;
    for await (const page of this.list(jobsRoot)) groupByJob(page, jobsRoot, jobs);
    let removed = 0;
    for (const [id, job] of jobs) {
      if (job.newest >= cutoff || (await isLive?.(id))) continue;
      // Only the listed keys: an object written since the listing survives.
      await this.deleteKeys(job.keys);
      removed += 1;
    }
    return removed;
  }

  async presignedUrl(key: string, seconds: number) {
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) });
    return getSignedUrl(this.client, command, { expiresIn: seconds });
  }

  close() {
    this.client.destroy();
  }

  /** Every object under a full (prefixed) key prefix, page by page. */
  private async *list(prefix: string): AsyncGenerator<_Object[]> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      yield page.Contents ?? [];
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async deleteKeys(keys: string[]) {
    // DeleteObjects takes at most 1000 keys per request.
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((Key) => ({ Key }));
      const { Errors } = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch, Quiet: true } }),
      );
      if (Errors?.length)
        throw new Error(
          `S3 could not delete ${Errors.length} object(s), first ${Errors[0].Key}: ${Errors[0].Code} ${Errors[0].Message}`,
        );
    }
  }
}
