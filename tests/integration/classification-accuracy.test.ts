import fs from 'node:fs';
import path from 'node:path';
import { requestJson, waitForJob } from '../helpers/api-client';
import { requireShared } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';

/** Real photos, real models, through HTTP, Redis and a worker process. */
const IMAGES = requireShared('images');
const expected: Record<string, { labels: number[]; difficulty: string }> = JSON.parse(fs.readFileSync(path.join(IMAGES, 'expected.json'), 'utf8'));
const easy = Object.entries(expected).filter(([name, e]) => !name.startsWith('_') && e.difficulty === 'easy');

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function classifyAll(model: string) {
  // Several images per request, several requests at once: exercises batching across jobs.
  const chunks: (typeof easy)[] = [];
  for (let i = 0; i < easy.length; i += 4) chunks.push(easy.slice(i, i + 4));
  const results = await Promise.all(
    chunks.map(async (chunk) => {
      const form = new FormData();
      form.set('model', model);
      for (const [name] of chunk) form.append('image', new Blob([fs.readFileSync(path.join(IMAGES, name))]), name);
      const res = await requestJson(`${stack.url}/v1/classifications`, { method: 'POST', body: form });
      expect(res.status).toBe(202);
      const job = await waitForJob(stack.url, res.body.id);
      expect(job.status).toBe('succeeded');
      return chunk.map(([name, e], i) => {
        const top = job.result.predictions[i].labels[0];
        return { name, correct: e.labels.includes(top.class_index), top };
      });
    }),
  );
  return results.flat();
}

test.each([
  ['mobilenetv2-12-int8', 0.9],
  ['squeezenet1.1', 0.7],
])('%s gets top-1 right on at least %p of the easy photos', async (model, share) => {
  expect(easy.length).toBeGreaterThanOrEqual(20);
  const results = await classifyAll(model);
  const correct = results.filter((r) => r.correct).length;
  const misses = results.filter((r) => !r.correct).map((r) => `${r.name} -> ${r.top.label}`);
  expect({ model, correct, of: results.length, misses, ok: correct / results.length >= share }).toMatchObject({ ok: true });
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
  expect(job.params).toMatchObject({ model: 'mobilenetv2-12-int8', top_k: 3, images: [{ index: 0, filename: 'goldfish.jpg', format: 'jpeg' }] });
});

test('JSON with base64 images and data URLs works like multipart', async () => {
  const bytes = fs.readFileSync(path.join(IMAGES, 'lion.png'));
  const res = await requestJson(`${stack.url}/v1/classifications`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mobilenetv2-12-int8', images: [bytes.toString('base64'), `data:image/png;base64,${bytes.toString('base64')}`] }),
  });
  expect(res.status).toBe(202);
  const job = await waitForJob(stack.url, res.body.id);
  expect(job.result.predictions.map((p: any) => p.labels[0].label)).toEqual(['lion', 'lion']);
});

test('the demo colour classifier names the dominant colour', async () => {
  const res = await requestJson(`${stack.url}/v1/classifications`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'demo-colors', images: [fs.readFileSync(path.join(IMAGES, 'goldfish.jpg')).toString('base64')] }),
  });
  const job = await waitForJob(stack.url, res.body.id);
  expect(job.status).toBe('succeeded');
  const scores = job.result.predictions[0].labels;
  expect(scores).toHaveLength(5);
  expect(scores.reduce((s: number, l: any) => s + l.score, 0)).toBeLessThanOrEqual(1.0001);
});
