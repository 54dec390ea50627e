import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitForJob } from '../helpers/api-client';
import { classify, fixtureModel, generate, waitForModels, writeModelFolder } from '../helpers/fleet';
import { runProcess, startStack, waitForExit, type Stack } from '../helpers/stack';

jest.setTimeout(240_000);

// An API with no models of its own, which fails jobs after 4 s without a worker for their model.
let stack: Stack;
let hotPath: string;
beforeAll(async () => {
  hotPath = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-hot-models-'));
  stack = await startStack({ noWorkers: true, env: { MODELS_PATH: '', MODEL_WAIT_SECONDS: '4' } });
});
afterAll(async () => {
  await stack?.stop();
  fs.rmSync(hotPath, { recursive: true, force: true });
});

/** The sum of a fleet counter's samples for one model, from the API's /metrics. */
async function counter(name: string, model: string): Promise<number> {
  const text = await (await fetch(`${stack.url}/metrics`)).text();
  const line = new RegExp(`^${name}\\{model="${model.replace(/\./g, '\\.')}"\\} (\\S+)$`, 'm').exec(text);
  return line ? Number(line[1]) : 0;
}

async function counterReaches(name: string, model: string, atLeast: number): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await counter(name, model);
    if (value >= atLeast || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('a model that alone exceeds WORKER_MODEL_MEMORY_MB is refused at start, with the reason', async () => {
  const worker = runProcess('workers/main.js', {
    ...stack.env,
    MODELS_PATH: fixtureModel('mobilenetv2-12-int8'),
    WORKER_MODEL_MEMORY_MB: '5',
  });
  expect(await waitForExit(worker)).not.toBe(0);
  expect(worker.output()).toMatch(/WORKER_MODEL_MEMORY_MB=5 cannot hold mobilenetv2-12-int8 \(\d+ MB\)/);
});

test('a worker whose budget holds one of two models runs alternating jobs of both, loading and unloading', async () => {
  // mobilenetv2-12-int8 is estimated at 21 MB, omori-sprite-gan at 20 MB: 30 MB holds one.
  const worker = await stack.addWorker({
    MODELS_PATH: [fixtureModel('mobilenetv2-12-int8'), fixtureModel('omori-sprite-gan')].join(','),
    WORKER_MODEL_MEMORY_MB: '30',
  });
  const models = await waitForModels(stack.url, (m) => m.length === 2);
  // Nothing loads before its first job.
  for (const m of models) expect(m).toMatchObject({ workers: 1, loaded: 0 });
  for (let i = 0; i < 6; i++) {
    const res = i % 2 ? await classify(stack.url) : await generate(stack.url);
    expect(res.status).toBe(202);
    expect((await waitForJob(stack.url, res.body.id, 60_000)).status).toBe('succeeded');
  }
  expect(await counterReaches('darkroom_model_loads_total', 'omori-sprite-gan', 3)).toBe(3);
  expect(await counterReaches('darkroom_model_loads_total', 'mobilenetv2-12-int8', 3)).toBe(3);
  // Each load after the first made room by unloading the other model.
  const unloads =
    (await counterReaches('darkroom_model_unloads_total', 'omori-sprite-gan', 3)) +
    (await counterReaches('darkroom_model_unloads_total', 'mobilenetv2-12-int8', 2));
  expect(unloads).toBe(5);
  await worker.stop();
});

test('a model folder copied into a running worker’s path becomes servable, and waits without it', async () => {
  const worker = await stack.addWorker({ MODELS_PATH: hotPath, MODELS_WATCH_MS: '1000' });
  writeModelFolder(hotPath, 'squeezenet1.1');
  await worker.waitForLog((l) => l.msg === 'model folder added: taking its jobs' && l.model === 'squeezenet1.1');
  const models = await waitForModels(stack.url, (m) => m.some((x) => x.name === 'squeezenet1.1'));
  expect(models.find((m) => m.name === 'squeezenet1.1')).toMatchObject({ workers: 1 });
  const res = await classify(stack.url, 'squeezenet1.1');
  expect(res.status).toBe(202);
  const job = await waitForJob(stack.url, res.body.id, 60_000);
  expect(job.status).toBe('succeeded');
  expect(job.result.predictions[0].labels[0].label).toBe('goldfish');

  // Its only worker gone, a job for it is accepted, waits MODEL_WAIT_SECONDS, then fails as model_unavailable.
  await worker.stop();
  await waitForModels(stack.url, (m) => !m.some((x) => x.name === 'squeezenet1.1'));
  const orphan = await classify(stack.url, 'squeezenet1.1');
  expect(orphan.status).toBe(202);
  const failed = await waitForJob(stack.url, orphan.body.id, 30_000);
  expect(failed).toMatchObject({ status: 'failed', error: { code: 'model_unavailable' } });
});

test('warm first: a worker that would have to load a model leaves its jobs to one that holds it', async () => {
  const omori = { MODELS_PATH: fixtureModel('omori-sprite-gan'), WORKER_MODEL_MEMORY_MB: '30' };
  const warm = await stack.addWorker(omori);
  expect((await waitForJob(stack.url, (await generate(stack.url)).body.id, 60_000)).status).toBe('succeeded');
  await waitForModels(stack.url, (m) => m.some((x) => x.name === 'omori-sprite-gan' && x.loaded === 1));
  const cold = await stack.addWorker({ ...omori, COLD_START_DELAY_MS: '60000' });
  await cold.waitForLog((l) => l.msg === 'cold model: leaving its jobs to warm workers');
  for (let i = 0; i < 4; i++) {
    expect((await waitForJob(stack.url, (await generate(stack.url)).body.id, 60_000)).status).toBe('succeeded');
  }
  expect(cold.output()).not.toContain('model loaded');
  // The warm worker gone, the cold one takes the jobs at once rather than after the delay.
  await warm.stop();
  const res = await generate(stack.url);
  expect((await waitForJob(stack.url, res.body.id, 30_000)).status).toBe('succeeded');
  expect(cold.output()).toContain('model loaded');
});
