import fs from 'node:fs';
import path from 'node:path';
import { requestJson, waitForJob } from '../helpers/api-client';
import { requireShared } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';

/** Real photos, real models, through HTTP, Redis and a worker process. */
const IMAGES = requireShared('images');
const expected: Record<string, { labels: number[]; difficulty: string }> = JSON.parse(
  fs.readFileSync(path.join(IMAGES, 'expected.json'), 'utf8'),
);
const easy = Object.entries(expected).filter(([name, e]) => !name.startsWith('_') && e.difficulty === 'easy');

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** The top-5 class indices of each named photo, in order. */
async function topFive(model: string, names: string[]): Promise<Map<string, number[]>> {
  // Several images per request, several requests at once: exercises batching across jobs.
  const chunks: string[][] = [];
  for (let i = 0; i < names.length; i += 4) chunks.push(names.slice(i, i + 4));
  const results = await Promise.all(
    chunks.map(async (chunk) => {
      const form = new FormData();
      form.set('model', model);
      form.set('top_k', '5');
      for (const name of chunk) form.append('image', new Blob([fs.readFileSync(path.join(IMAGES, name))]), name);
      const res = await requestJson(`${stack.url}/v1/classifications`, { method: 'POST', body: form });
      expect(res.status).toBe(202);
      const job = await waitForJob(stack.url, res.body.id);
      expect(job.status).toBe('succeeded');
      return chunk.map((name, i): [string, number[]] => [
        name,
        job.result.predictions[i].labels.map((l: { class_index: number }) => l.class_index),
      ]);
    }),
  );
  return new Map(results.flat());
}

async function classifyAll(model: string) {
  const top = await topFive(
    model,
    easy.map(([name]) => name),
  );
  return easy.map(([name, e]) => ({ name, correct: e.labels.includes(top.get(name)![0]), top: top.get(name)![0] }));
}

test.each([
  ['mobilenetv2-12-int8', 0.9],
  ['squeezenet1.1', 0.7],
])('%s gets top-1 right on at least %p of the easy photos', async (model, share) => {
  expect(easy.length).toBeGreaterThanOrEqual(20);
  const results = await classifyAll(model);
  const correct = results.filter((r) => r.correct).length;
  const misses = results.filter((r) => !r.correct).map((r) => `${r.name} -> class ${r.top}`);
  expect({ model, correct, of: results.length, misses, ok: correct / results.length >= share }).toMatchObject({
    ok: true,
  });
});

/** The reference runs in ../shared/models/<model>/eval_on_shared_images.json: top-1 and top-5 per photo. */
function reference(model: string): Map<string, { top1: number; top5: number[] }> {
  const file = path.join(requireShared(path.join('models', model)), 'eval_on_shared_images.json');
  return new Map(Object.entries(JSON.parse(fs.readFileSync(file, 'utf8')).per_image));
}

// The references resized with sharp's cubic kernel (the fixtures' resize_filter). With sharp's
// default lanczos3, squeezenet1.1 kept top-1 on 31/31 but the top-5 order on only 19/31.
test('squeezenet1.1 gives the reference top-1 and top-5 order on every photo', async () => {
  const ref = reference('squeezenet1.1');
  expect(ref.size).toBe(31);
  const ours = await topFive('squeezenet1.1', [...ref.keys()]);
  // Top-5 in order, so top-1 too (the reference's top1 is its top5[0]).
  expect([...ref].every(([, r]) => r.top5[0] === r.top1)).toBe(true);
  expect(Object.fromEntries(ours)).toEqual(Object.fromEntries([...ref].map(([name, r]) => [name, r.top5])));
});

// Not exact for the int8 model, whatever the filter: with the same preprocessing that reproduces
// squeezenet1.1 exactly, mobilenetv2-12-int8 agrees on top-1 for 25/31 photos (cubic and lanczos3
// alike; 24/31 with mitchell) and on the top-5 order for only 2/31 (top-5 as a set: 7/31), and
// neither graph optimisation level nor thread count changes a single score. The difference is in
// the int8 kernels, not in the pixels: onnxruntime's MLAS picks its u8s8 GEMM by CPU (VNNI or
// not; the reference's own note says so), and on the machine these figures were measured
// (AMD EPYC, avx512_vnni) the accumulations differ from the reference's. So this asserts the
// measured agreement, not equality.
test('mobilenetv2-12-int8 gives the reference top-1 on at least 25 of 31 photos', async () => {
  const ref = reference('mobilenetv2-12-int8');
  expect(ref.size).toBe(31);
  const ours = await topFive('mobilenetv2-12-int8', [...ref.keys()]);
  const differ = [...ref]
    .filter(([name, r]) => ours.get(name)![0] !== r.top1)
    .map(([name, r]) => `${name}: ${ours.get(name)![0]}, reference ${r.top1}`);
  const agree = ref.size - differ.length;
  expect({ agree, differ, ok: agree >= 25 }).toMatchObject({ ok: true });
});

test('results carry labels, class indices and scores in descending order', async () => {
  const form = new FormData();
  form.set('model', 'mobilenetv2-12-int8');
  form.set('top_k', '3');
  form.append('image', new Blob([fs.readFileSync(path.join(IMAGES, 'goldfish.jpg'))]), 'goldfish.jpg');
  const res = await requestJson(`${stack.url}/v1/classifications`, { method: 'POST', body: form });
  expect(res.headers.get('location')).toBe(`/v1/jobs/${res.body.id}`);
  expect(res.body.id).toMatch(/^cls_[0-9a-f-]{36}$/);
  const job = await waitForJob(stack.url, res.body.id);
  const labels = job.result.predictions[0].labels;
  expect(labels).toHaveLength(3);
  expect(labels[0]).toMatchObject({ label: 'goldfish', class_index: 1 });
  expect(labels[0].score).toBeGreaterThan(labels[1].score);
  expect(job.params).toMatchObject({
    model: 'mobilenetv2-12-int8',
    top_k: 3,
    images: [{ index: 0, filename: 'goldfish.jpg', format: 'jpeg' }],
  });
});

test('JSON with base64 images and data URLs works like multipart', async () => {
  const bytes = fs.readFileSync(path.join(IMAGES, 'lion.png'));
  const res = await requestJson(`${stack.url}/v1/classifications`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'mobilenetv2-12-int8',
      images: [bytes.toString('base64'), `data:image/png;base64,${bytes.toString('base64')}`],
    }),
  });
  expect(res.status).toBe(202);
  const job = await waitForJob(stack.url, res.body.id);
  expect(job.result.predictions.map((p: any) => p.labels[0].label)).toEqual(['lion', 'lion']);
});

test('the demo colour classifier names the dominant colour', async () => {
  const res = await requestJson(`${stack.url}/v1/classifications`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'demo-colors',
      images: [fs.readFileSync(path.join(IMAGES, 'goldfish.jpg')).toString('base64')],
    }),
  });
  const job = await waitForJob(stack.url, res.body.id);
  expect(job.status).toBe('succeeded');
  const scores = job.result.predictions[0].labels;
  expect(scores).toHaveLength(5);
  expect(scores.reduce((s: number, l: any) => s + l.score, 0)).toBeLessThanOrEqual(1.0001);
});
