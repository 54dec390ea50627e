import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { BlobNotFoundError, type BlobStore } from '../../src/storage/blob-store';
import { createFsBlobStore } from '../../src/storage/fs-blob-store';
import { createS3BlobStore } from '../../src/storage/s3-blob-store';
import { startTestS3, type TestS3 } from '../helpers/s3-server';

/** One kind of store: `make` gives an empty, isolated store for each test. */
interface StoreKind {
  setup(): Promise<void>;
  make(): BlobStore;
  teardown(): Promise<void>;
}

const fsKind = (): StoreKind => {
  let base = '';
  return {
    async setup() {
      base = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-blobs-'));
    },
    make: () => createFsBlobStore(path.join(base, randomUUID())),
    async teardown() {
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
};

const s3Kind = (): StoreKind => {
  let server: TestS3 | undefined;
  const made: ReturnType<typeof createS3BlobStore>[] = [];
  return {
    async setup() {
      server = await startTestS3();
    },
    // A fresh key prefix (S3_PREFIX) per test in one bucket.
    make() {
      const s = server!;
      const store = createS3BlobStore({
        bucket: s.bucket,
        region: 'us-east-1',
        endpoint: s.endpoint,
        forcePathStyle: true,
        credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
        prefix: `t-${randomUUID()}`,
      });
      made.push(store);
      return store;
    },
    async teardown() {
      for (const store of made) store.close();
      await server?.stop();
    },
  };
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const readAll = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
const exists = async (store: BlobStore, key: string) => (await store.size(key)) !== undefined;

describe.each([
  ['fs', fsKind()],
  ['s3', s3Kind()],
])('%s blob store', (kind, stores) => {
  beforeAll(() => stores.setup());
  afterAll(() => stores.teardown());

  test('readInto fills a buffer the caller reuses: the first bytes, and how many there were', async () => {
    const store = stores.make();
    const data = randomBytes(200_000);
    await store.put('jobs/j9/pixels', data);
    const exact = new Uint8Array(data.length).fill(7);
    expect(await store.readInto('jobs/j9/pixels', exact)).toBe(data.length);
    expect(Buffer.from(exact).equals(data)).toBe(true);
    const larger = new Uint8Array(data.length + 10);
    expect(await store.readInto('jobs/j9/pixels', larger)).toBe(data.length);
    expect(Buffer.from(larger.subarray(0, data.length)).equals(data)).toBe(true);
    const smaller = new Uint8Array(1000);
    expect(await store.readInto('jobs/j9/pixels', smaller)).toBe(1000);
    expect(Buffer.from(smaller).equals(data.subarray(0, 1000))).toBe(true);
    await expect(store.readInto('jobs/j9/missing', smaller)).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  test('put then get returns the same bytes; open streams them; size is the length', async () => {
    const store = stores.make();
    const data = randomBytes(300_000);
    await store.put('jobs/j1/outputs/0.png', data);
    expect((await store.get('jobs/j1/outputs/0.png')).equals(data)).toBe(true);
    const stream = await store.open('jobs/j1/outputs/0.png');
    expect((await readAll(stream)).equals(data)).toBe(true);
    expect(await store.size('jobs/j1/outputs/0.png')).toBe(300_000);
    await store.put('jobs/j1/outputs/0.png', Buffer.from('short'));
    expect((await store.get('jobs/j1/outputs/0.png')).toString()).toBe('short');
    expect(await store.size('jobs/j1/outputs/0.png')).toBe(5);
  });

  test('a missing key: get and open reject with BlobNotFoundError, size is undefined', async () => {
    const store = stores.make();
    await expect(store.get('jobs/none/inputs/0')).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(store.open('jobs/none/inputs/0')).rejects.toMatchObject({
      name: 'BlobNotFoundError',
      key: 'jobs/none/inputs/0',
    });
    expect(await store.size('jobs/none/inputs/0')).toBeUndefined();
  });

  test('overwriting is atomic: readers see one whole version or the other, never a part', async () => {
    const store = stores.make();
    const key = 'jobs/atomic/outputs/0.png';
    const versions = [randomBytes(2 << 20), randomBytes(2 << 20)];
    await store.put(key, versions[0]);
    let writing = true;
    const seen = [0, 0];
    const writer = (async () => {
      for (let i = 1; i <= 20; i++) await store.put(key, versions[i % 2]);
      writing = false;
    })();
    const reader = async (read: () => Promise<Buffer>) => {
      while (writing) {
        const data = await read();
        const which = versions.findIndex((v) => v.equals(data));
        expect({ bytes: data.length, whole: which >= 0 }).toEqual({ bytes: 2 << 20, whole: true });
        seen[which] += 1;
      }
    };
    await Promise.all([
      writer,
      reader(() => store.get(key)),
      reader(() => store.get(key)),
      reader(async () => readAll(await store.open(key))),
    ]);
    // Both versions were read, so reads really overlapped the writes.
    expect(seen.every((n) => n > 0)).toBe(true);
  }, 60_000);

  test('removePrefix removes that prefix and nothing else', async () => {
    const store = stores.make();
    const keys = [
      'jobs/a/inputs/0',
      'jobs/a/outputs/0.png',
      'jobs/ab/outputs/0.png',
      'jobs/b/outputs/0.png',
      'other/a/x',
    ];
    for (const key of keys) await store.put(key, Buffer.from(key));
    await store.removePrefix('jobs/a/');
    const left = [];
    for (const key of keys) if (await exists(store, key)) left.push(key);
    expect(left).toEqual(['jobs/ab/outputs/0.png', 'jobs/b/outputs/0.png', 'other/a/x']);
    await store.removePrefix('jobs/never-written/');
    // Without the slash it is still a folder: `jobs/b` does not take `jobs/ab` with it.
    await store.removePrefix('jobs/b');
    expect([await exists(store, 'jobs/b/outputs/0.png'), await exists(store, 'jobs/ab/outputs/0.png')]).toEqual([
      false,
      true,
    ]);
  });

  test('sweep removes the job folders whose newest file is older than the age, and nothing else', async () => {
    const store = stores.make();
    await store.put('jobs/old/inputs/0', Buffer.from('o'));
    await store.put('jobs/mixed/inputs/0', Buffer.from('m'));
    await store.put('other/keep', Buffer.from('k'));
    // S3 keeps LastModified to the second, so old and new files are more than a second apart.
    await sleep(1100);
    const boundary = Date.now();
    await sleep(1100);
    await store.put('jobs/mixed/outputs/0.png', Buffer.from('m'));
    await store.put('jobs/new/outputs/0.png', Buffer.from('n'));

    expect(await store.sweep(60 * 60_000)).toBe(0);
    expect(await store.sweep(Date.now() - boundary)).toBe(1);
    const keys = [
      'jobs/old/inputs/0',
      'jobs/mixed/inputs/0',
      'jobs/mixed/outputs/0.png',
      'jobs/new/outputs/0.png',
      'other/keep',
    ];
    const present = async () => Promise.all(keys.map((k) => exists(store, k)));
    expect(await present()).toEqual([false, true, true, true, true]);

    await sleep(20);
    expect(await store.sweep(0)).toBe(2);
    expect(await present()).toEqual([false, false, false, false, true]);
  });

  test('unsafe keys are rejected by every operation', async () => {
    const store = stores.make();
    for (const key of [
      '../escape',
      '/etc/passwd',
      'jobs/../../x',
      'jobs/./x',
      'jobs//x',
      'jobs/a b',
      'jobs\\x',
      '',
      'jobs/x?y=1',
    ]) {
      const attempts: Promise<unknown>[] = [
        store.put(key, Buffer.from('x')),
        store.get(key),
        store.open(key),
        store.size(key),
        store.removePrefix(key),
      ];
      if (store.presignedUrl) attempts.push(store.presignedUrl(key, 60));
      for (const attempt of attempts) await expect(attempt).rejects.toThrow(`unsafe blob key ${key}`);
    }
  });

  if (kind === 'fs') {
    test('has no presigned URLs', () => {
      expect(stores.make().presignedUrl).toBeUndefined();
    });
  } else {
    test('a presigned URL serves the bytes without credentials until it expires', async () => {
      const store = stores.make();
      const data = randomBytes(50_000);
      await store.put('jobs/p/outputs/0.webp', data);
      // Valid for 2 s from X-Amz-Date, which has whole seconds: at least 1 s from now, at most 2.
      const url = new URL(await store.presignedUrl!('jobs/p/outputs/0.webp', 2));
      expect(url.pathname).toMatch(/\/t-[0-9a-f-]+\/jobs\/p\/outputs\/0\.webp$/);
      expect(url.searchParams.get('X-Amz-Expires')).toBe('2');
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/webp');
      expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
      // (s3rver checks the expiry but, unlike S3, not the SigV4 signature itself.)
      await sleep(2100);
      expect((await fetch(url)).status).toBe(403);
    });

    test('stores with different prefixes in one bucket do not see each other', async () => {
      const [a, b] = [stores.make(), stores.make()];
      await a.put('jobs/same/inputs/0', Buffer.from('a'));
      await b.put('jobs/same/inputs/0', Buffer.from('b'));
      await b.removePrefix('jobs/same/');
      expect((await a.get('jobs/same/inputs/0')).toString()).toBe('a');
      await sleep(1100);
      expect(await b.sweep(0)).toBe(0);
      expect(await a.sweep(0)).toBe(1);
    });
  }
});
