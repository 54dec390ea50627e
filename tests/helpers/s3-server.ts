import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver from 's3rver';
import { freePort } from './redis-server';

/** A real S3-speaking server (s3rver) in the test process, on a free loopback port and a temp dir. */
export interface TestS3 {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The variables that point darkroom at this server. */
  env: Record<string, string>;
  /** Every key in the bucket under `prefix`, sorted (read through the S3 API, as another client would). */
  listKeys(prefix?: string): Promise<string[]>;
  getObject(key: string): Promise<Buffer>;
  stop(): Promise<void>;
}

/** s3rver's fixed credentials. */
const CREDENTIAL = 'S3RVER';

export async function startTestS3(bucket = 'darkroom-test'): Promise<TestS3> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: await freePort(),
    silent: true,
    directory: path.join(base, 'data'),
    configureBuckets: [{ name: bucket }],
  });
  makePutsAtomic(server, path.join(base, 'tmp'));
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: CREDENTIAL, secretAccessKey: CREDENTIAL },
  });
  return {
    endpoint,
    bucket,
    accessKeyId: CREDENTIAL,
    secretAccessKey: CREDENTIAL,
    env: {
      BLOB_STORE: 's3',
      S3_BUCKET: bucket,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: CREDENTIAL,
      S3_SECRET_ACCESS_KEY: CREDENTIAL,
    },
    async listKeys(prefix = '') {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        keys.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.NextContinuationToken;
      } while (token);
      return keys.sort();
    },
    async getObject(key) {
      const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await Body!.transformToByteArray());
    },
    async stop() {
      client.destroy();
      await server.close();
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

/**
 * S3 replaces an object atomically; s3rver truncates the file and writes it in place, so a reader
 * can get half of the new version. Make the test server keep S3's promise (write beside the object,
 * rename it over, and read metadata and open the file under one per-key lock), so the blob-store
 * contract tests our code and not s3rver's shortcut.
 */
function makePutsAtomic(server: S3rver, tmpDir: string): void {
  const { store } = server;
  fs.mkdirSync(tmpDir, { recursive: true });
  const locks = new Map<string, Promise<unknown>>();
  const locked = <T>(id: string, fn: () => Promise<T>): Promise<T> => {
    const next = (locks.get(id) ?? Promise.resolve()).then(fn, fn);
    const settled = next.catch(() => undefined);
    locks.set(id, settled);
    void settled.then(() => locks.get(id) === settled && locks.delete(id));
    return next;
  };
  const getObject = store.getObject.bind(store);
  store.getObject = (bucket, key, options) =>
    locked(store.getResourcePath(bucket, key, 'object'), () => getObject(bucket, key, options));
  store.putObject = async (object) => {
    const target = store.getResourcePath(object.bucket, object.key, 'object');
    const tmp = path.join(tmpDir, randomBytes(8).toString('hex'));
    const hash = createHash('md5');
    let size = 0;
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    await pipeline(
      source,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      fs.createWriteStream(tmp),
    );
    const md5 = hash.digest('hex');
    await fsp.mkdir(path.dirname(target), { recursive: true });
    return locked(target, async () => {
      await fsp.rename(tmp, target);
      await store.putMetadata(object.bucket, object.key, object.metadata, md5);
      return { size, md5 };
    });
  };
}
