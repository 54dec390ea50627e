import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requestJson, waitForJob } from '../helpers/api-client';
import { classify, fixtureModel, generate, waitForModels } from '../helpers/fleet';
import { ADMIN_PASSWORD, startStack, type Stack } from '../helpers/stack';

jest.setTimeout(240_000);

// An API with no model files of its own and two workers with disjoint models.
let stack: Stack;
let empty: string;
beforeAll(async () => {
  empty = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-no-models-'));
  stack = await startStack({ noWorkers: true, env: { MODELS_PATH: '' } });
  await stack.addWorker({ MODELS_PATH: fixtureModel('mobilenetv2-12-int8') });
  await stack.addWorker({ MODELS_PATH: fixtureModel('omori-sprite-gan') });
});
afterAll(async () => {
  await stack?.stop();
  fs.rmSync(empty, { recursive: true, force: true });
});

test('the API lists what the live workers serve, with workers, loaded and queued per model', async () => {
  const models = await waitForModels(stack.url, (m) => m.length === 2);
  expect(models.map((m) => m.name).sort()).toEqual(['mobilenetv2-12-int8', 'omori-sprite-gan']);
  for (const m of models) expect(m).toMatchObject({ workers: 1, loaded: 1, queued: 0 });
});

test('a mixed stream runs each job on the worker that serves its model, without a failure', async () => {
  await waitForModels(stack.url, (m) => m.length === 2);
  const submitted = await Promise.all(
    Array.from({ length: 16 }, (_, i) => (i % 2 ? classify(stack.url) : generate(stack.url))),
  );
  expect(submitted.map((r) => r.status)).toEqual(Array(16).fill(202));
  const jobs = await Promise.all(submitted.map((r) => waitForJob(stack.url, r.body.id, 120_000)));
  expect(jobs.map((j) => j.status)).toEqual(Array(16).fill('succeeded'));
  expect(jobs.filter((j) => j.type === 'classification').map((j) => j.result.predictions[0].labels[0].label)).toEqual(
    Array(8).fill('goldfish'),
  );
  expect(jobs.filter((j) => j.type === 'generation').every((j) => j.result.images.length === 2)).toBe(true);
  // Each worker only ever took jobs of its own model.
  const [mobilenet, omori] = stack.workers;
  expect(mobilenet.output()).not.toMatch(/"queue":"generation/);
  expect(omori.output()).not.toMatch(/"queue":"classification/);
});

test('Bull Board and /metrics show the model queues', async () => {
  const auth = { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` };
  const board = await requestJson(`${stack.url}/admin/queues/api/queues`, { headers: auth });
  expect(board.status).toBe(200);
  const names = board.body.queues.map((q: { name: string }) => q.name);
  expect(names).toEqual(expect.arrayContaining(['classification@mobilenetv2-12-int8', 'generation@omori-sprite-gan']));
  const metrics = await (await fetch(`${stack.url}/metrics`)).text();
  expect(metrics).toMatch(
    /^darkroom_model_jobs\{job_type="generation",model="omori-sprite-gan",state="completed"\} [1-9]/m,
  );
  expect(metrics).toMatch(/^darkroom_models_resident\{model="mobilenetv2-12-int8"\} 1$/m);
});

test('a model never offered is a 422 naming the available ones', async () => {
  const res = await classify(stack.url, 'no-such-model');
  expect(res.status).toBe(422);
  expect(JSON.stringify(res.body)).toContain('mobilenetv2-12-int8');
});

test('the omori worker killed, its jobs wait for a worker, then succeed once another one starts', async () => {
  const omori = stack.workers[1];
  await omori.stop('SIGKILL');
  const res = await generate(stack.url);
  expect(res.status).toBe(202);
  // Once its heartbeat has expired, the job says what it waits for, and gives no ETA.
  const deadline = Date.now() + 30_000;
  let view: any;
  for (;;) {
    view = (await requestJson(`${stack.url}/v1/jobs/${res.body.id}`)).body;
    if (view.waiting_for === 'worker' || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(view).toMatchObject({ status: 'queued', waiting_for: 'worker', eta_seconds: null });
  // No longer listed as available, but offered before: its jobs are still accepted and wait.
  const models = await waitForModels(stack.url, (m) => !m.some((x) => x.name === 'omori-sprite-gan'));
  expect(models.map((m) => m.name)).toEqual(['mobilenetv2-12-int8']);
  const later = await generate(stack.url);
  expect(later.status).toBe(202);
  await stack.addWorker({ MODELS_PATH: fixtureModel('omori-sprite-gan') });
  expect((await waitForJob(stack.url, res.body.id, 60_000)).status).toBe('succeeded');
  expect((await waitForJob(stack.url, later.body.id, 60_000)).status).toBe('succeeded');
});
