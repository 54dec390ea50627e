import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { fetchBuffer, postJson, requestJson, waitForJob } from '../helpers/api-client';
import { requireShared } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';
import { readZip } from '../helpers/zip-reader';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** Resident memory of a process in MB, from /proc. */
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

test('a job zip holds every image and a manifest that matches the job', async () => {
  const res = await postJson(`${stack.url}/v1/generations`, {
    model: 'demo-cppn',
    n: 3,
    seed: 11,
    prompt: 'violet tide',
  });
  const early = await fetchBuffer(`${stack.url}/v1/jobs/${res.body.id}/archive`);
  if (early.status !== 200) expect(early.status).toBe(409);
  const job = await waitForJob(stack.url, res.body.id);
  const zip = await fetchBuffer(`${stack.url}/v1/jobs/${job.id}/archive`);
  expect(zip.status).toBe(200);
  expect(zip.headers.get('content-type')).toBe('application/zip');
  expect(zip.headers.get('content-disposition')).toContain(`${job.id}.zip`);
  const files = readZip(zip.data);
  expect(files.map((f) => f.name)).toEqual(['image-000.png', 'image-001.png', 'image-002.png', 'manifest.json']);
  expect(files.every((f) => f.method === 0)).toBe(true); // store mode: PNGs are compressed already
  const manifest = JSON.parse(files[3].data.toString());
  expect(manifest).toMatchObject({
    id: job.id,
    status: 'succeeded',
    params: { seed: 11, prompt: 'violet tide', n: 3 },
  });
  expect(manifest.files.map((f: any) => f.seed)).toEqual([11, 12, 13]);
  for (const [i, img] of job.result.images.entries()) {
    const single = await fetchBuffer(`${stack.url}${img.url}`);
    expect(files[i].data.equals(single.data)).toBe(true);
    expect(manifest.files[i]).toMatchObject({ file: files[i].name, width: 256, height: 256, bytes: img.bytes });
  }
});

test('zips stream: the API does not hold an archive in memory', async () => {
  // ~35 MB of PNGs in one batch zip: buffering it would grow the API by more than that.
  const request = { type: 'generation', model: 'demo-cppn', n: 16, width: 1024, height: 1024, prompt: 'storm' };
  const res = await postJson(`${stack.url}/v1/batches`, {
    requests: [1, 2, 3, 4].map((seed) => ({ ...request, seed })),
  });
  const batch = await waitForJob(stack.url, res.body.id, 180_000, 'batches');
  expect(batch.status).toBe('succeeded');
  const total = batch.jobs.flatMap((j: any) => j.result.images).reduce((s: number, i: any) => s + i.bytes, 0) / 1e6;
  // A client that stops reading: a streaming server stalls on backpressure; a buffering one
  // would build the whole archive anyway. Compare memory while the client is paused.
  const pid = stack.api.child.pid!;
  const before = rssMb(pid);
  const { received, pausedGrowth } = await new Promise<{ received: number; pausedGrowth: number }>(
    (resolve, reject) => {
      http.get(`${stack.url}/v1/batches/${batch.id}/archive`, (res) => {
        expect(res.headers['content-length']).toBeUndefined(); // chunked: written as it is read
        let received = 0;
        let pausedGrowth = 0;
        res.once('data', (first: Buffer) => {
          received += first.length;
          res.pause();
          setTimeout(() => {
            pausedGrowth = rssMb(pid) - before;
            res.on('data', (c: Buffer) => (received += c.length));
            res.resume();
          }, 1500);
        });
        res.on('end', () => resolve({ received, pausedGrowth }));
        res.on('error', reject);
      });
    },
  );
  expect(total).toBeGreaterThan(30);
  expect(received / 1e6).toBeGreaterThan(total);
  expect({ totalMb: total, pausedGrowth, ok: pausedGrowth < total / 3 }).toMatchObject({ ok: true });
}, 240_000);

test('a batch of mixed requests: every child succeeds and one zip holds them all', async () => {
  const photo = fs.readFileSync(path.join(requireShared('images'), 'hotdog.jpg')).toString('base64');
  const res = await postJson(`${stack.url}/v1/batches`, {
    requests: [
      { type: 'generation', model: 'omori-sprite-gan', n: 2, seed: 3 },
      { type: 'classification', model: 'mobilenetv2-12-int8', images: [photo] },
      { type: 'generation', model: 'demo-cppn', prompt: 'sea glass', output_format: 'webp' },
    ],
  });
  expect(res.status).toBe(202);
  expect(res.body.id).toMatch(/^bat_/);
  expect(res.headers.get('location')).toBe(`/v1/batches/${res.body.id}`);
  const batch = await waitForJob(stack.url, res.body.id, 60_000, 'batches');
  expect(batch).toMatchObject({ status: 'succeeded', total: 3, counts: { succeeded: 3 } });
  expect(batch.jobs.map((j: any) => j.batch_id)).toEqual([batch.id, batch.id, batch.id]);
  expect(batch.jobs[1].result.predictions[0].labels[0].label).toBe('hotdog');

  const zip = readZip((await fetchBuffer(`${stack.url}/v1/batches/${batch.id}/archive`)).data);
  const names = zip.map((f) => f.name);
  const [g1, c1, g2] = batch.jobs.map((j: any, i: number) => `${String(i).padStart(3, '0')}-${j.id}/`);
  expect(names).toEqual([
    `${g1}image-000.png`,
    `${g1}image-001.png`,
    `${c1}input-000.jpg`,
    `${g2}image-000.webp`,
    'manifest.json',
  ]);
  const manifest = JSON.parse(zip.at(-1)!.data.toString());
  expect(manifest).toMatchObject({
    id: batch.id,
    total: 3,
    jobs: [{ folder: g1 }, { folder: c1, result: { predictions: [{ index: 0 }] } }, { folder: g2 }],
  });
  expect((await sharp(zip[3].data).metadata()).format).toBe('webp');
});

test('a batch with one bad request is refused whole, naming the request and field', async () => {
  const res = await postJson(`${stack.url}/v1/batches`, {
    requests: [
      { type: 'generation', model: 'demo-cppn' },
      { type: 'generation', model: 'demo-cppn', width: 99999 },
    ],
  });
  expect(res.status).toBe(422);
  expect(res.body.error.details).toEqual([expect.objectContaining({ field: 'requests.1.width' })]);
  const unknown = await postJson(`${stack.url}/v1/batches`, {
    requests: [{ type: 'classification', model: 'nope', images: ['AAAA'] }],
  });
  expect(unknown.status).toBe(422);
  expect(unknown.body.error).toMatchObject({ code: 'unknown_model', details: [{ field: 'requests.0.model' }] });
});

test('Idempotency-Key on a batch: the same key and body give the same batch; another body is 422', async () => {
  const body = {
    requests: [
      { type: 'generation', model: 'demo-cppn', seed: 1 },
      { type: 'generation', model: 'demo-cppn', seed: 2 },
    ],
  };
  const headers = { 'idempotency-key': 'batch-order-1' };
  const first = await postJson(`${stack.url}/v1/batches`, body, headers);
  const again = await postJson(`${stack.url}/v1/batches`, body, headers);
  expect([first.status, again.status]).toEqual([202, 202]);
  expect(again.body.id).toBe(first.body.id);
  expect(again.body.jobs.map((j: { id: string }) => j.id)).toEqual(first.body.jobs.map((j: { id: string }) => j.id));
  const other = await postJson(
    `${stack.url}/v1/batches`,
    { requests: [{ type: 'generation', model: 'demo-cppn', seed: 3 }] },
    headers,
  );
  expect({ status: other.status, code: other.body.error?.code }).toEqual({
    status: 422,
    code: 'idempotency_key_reused',
  });
});

test('unknown jobs and batches are 404; results of unfinished jobs are 409', async () => {
  const missing = 'gen_00000000-0000-4000-8000-000000000000';
  for (const url of [
    `/v1/jobs/${missing}`,
    `/v1/jobs/${missing}/archive`,
    '/v1/jobs/not-an-id',
    `/v1/batches/${missing}`,
    '/v1/batches/bat_00000000-0000-4000-8000-000000000000',
  ]) {
    const res = await requestJson(`${stack.url}${url}`);
    expect({ url, status: res.status, code: res.body.error.code }).toEqual({ url, status: 404, code: 'not_found' });
  }
  const gen = await postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn', n: 1 });
  const job = await waitForJob(stack.url, gen.body.id);
  const noImage = await requestJson(`${stack.url}/v1/jobs/${job.id}/images/7`);
  expect(noImage.status).toBe(404);
  expect(noImage.body.error.code).toBe('image_not_found');
});
