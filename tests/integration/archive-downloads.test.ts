import fs from 'node:fs';
import path from 'node:path';
import { requestJson, waitForJob } from '../helpers/api-client';
import { requireShared } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';
import { readZip } from '../helpers/zip-reader';

/** Zip downloads: inputs are cleaned of metadata once, not per download, and downloads are rate limited per key. */

const KEYS = { alice: 'alice-key-00000000000001', bob: 'bob-key-000000000000000002' };
type Who = keyof typeof KEYS;
const LIMIT = 4;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: { API_KEYS: `alice:${KEYS.alice},bob:${KEYS.bob}`, DOWNLOAD_RATE_LIMIT_PER_MINUTE: String(LIMIT) },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const auth = (who: Who) => ({ authorization: `Bearer ${KEYS[who]}` });
const get = async (who: Who, urlPath: string) => {
  const res = await fetch(`${stack.url}${urlPath}`, { headers: auth(who) });
  return { status: res.status, headers: res.headers, data: Buffer.from(await res.arrayBuffer()) };
};
const submit = async (who: Who, urlPath: string, body: unknown) => {
  const res = await requestJson(`${stack.url}${urlPath}`, {
    method: 'POST',
    headers: { ...auth(who), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
  return res.body.id as string;
};
const entry = (zip: Buffer, name: string) => readZip(zip).find((f) => f.name === name)?.data;

test('a classification zip cleans each input once, stores it beside the input, and serves the stored copy after', async () => {
  const photos = ['images/bad/tabby_cat_exif_orientation6.jpg', 'images/hotdog.jpg'].map((p) =>
    fs.readFileSync(requireShared(p)).toString('base64'),
  );
  const id = await submit('alice', '/v1/classifications', { model: 'demo-colors', images: photos });
  expect((await waitForJob(stack.url, id, 60_000, 'jobs', auth('alice'))).status).toBe('succeeded');
  const stored = (i: number) => path.join(stack.dataDir, 'blobs', 'jobs', id, 'inputs-clean', String(i));
  expect([fs.existsSync(stored(0)), fs.existsSync(stored(1))]).toEqual([false, false]);

  const first = await get('alice', `/v1/jobs/${id}/archive`);
  expect(first.status).toBe(200);
  // The first download made the clean copies, and served exactly them.
  expect(entry(first.data, 'input-000.jpg')?.equals(fs.readFileSync(stored(0)))).toBe(true);
  expect(entry(first.data, 'input-001.jpg')?.equals(fs.readFileSync(stored(1)))).toBe(true);

  // Later downloads read the stored copy instead of encoding again: a changed copy is what they serve.
  const marker = Buffer.from('the stored clean copy, not a new encode');
  fs.writeFileSync(stored(0), marker);
  const second = await get('alice', `/v1/jobs/${id}/archive`);
  expect(entry(second.data, 'input-000.jpg')?.equals(marker)).toBe(true);
  expect(entry(second.data, 'input-001.jpg')?.equals(entry(first.data, 'input-001.jpg')!)).toBe(true);
});

test('a classification has no output images: its image URL is 404 no_images', async () => {
  // Not a zip download: the per-key zip limit the next test counts is untouched.
  const photo = fs.readFileSync(requireShared('images/hotdog.jpg')).toString('base64');
  const id = await submit('bob', '/v1/classifications', { model: 'demo-colors', images: [photo] });
  expect((await waitForJob(stack.url, id, 60_000, 'jobs', auth('bob'))).status).toBe('succeeded');
  const image = await get('bob', `/v1/jobs/${id}/images/0`);
  expect({ status: image.status, code: JSON.parse(image.data.toString()).error.code }).toEqual({
    status: 404,
    code: 'no_images',
  });
});

test('zip downloads over the per-key limit in a minute get 429 rate_limited with Retry-After; other keys are not held back', async () => {
  const id = await submit('bob', '/v1/generations', { model: 'omori-sprite-gan' });
  const batch = (
    await requestJson(`${stack.url}/v1/batches`, {
      method: 'POST',
      headers: { ...auth('bob'), 'content-type': 'application/json' },
      body: JSON.stringify({ requests: [{ type: 'generation', model: 'omori-sprite-gan' }] }),
    })
  ).body.id;
  await waitForJob(stack.url, id, 60_000, 'jobs', auth('bob'));
  await waitForJob(stack.url, batch, 60_000, 'batches', auth('bob'));
  // Job and batch zips share one count.
  const urls = [`/v1/jobs/${id}/archive`, `/v1/batches/${batch}/archive`];
  const statuses = [];
  for (let i = 0; i < LIMIT; i++) statuses.push((await get('bob', urls[i % 2])).status);
  expect(statuses).toEqual(Array(LIMIT).fill(200));
  for (const url of urls) {
    const limited = await get('bob', url);
    expect({ url, status: limited.status, code: JSON.parse(limited.data.toString()).error?.code }).toEqual({
      url,
      status: 429,
      code: 'rate_limited',
    });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  }
  // Polling is not a download; alice has her own count.
  expect((await get('bob', `/v1/jobs/${id}`)).status).toBe(200);
  const alices = await submit('alice', '/v1/generations', { model: 'omori-sprite-gan' });
  await waitForJob(stack.url, alices, 60_000, 'jobs', auth('alice'));
  expect((await get('alice', `/v1/jobs/${alices}/archive`)).status).toBe(200);
});
