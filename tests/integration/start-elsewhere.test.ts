import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postJson, requestJson, waitForJob } from '../helpers/api-client';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';
import { runProcess, type ServerProcess } from '../helpers/stack';

/**
 * `npm start` from another directory: the default MODELS_PATH (models/demo) belongs to the package,
 * not the working directory (it used to fail with "<cwd>/models/demo: models folder does not
 * exist"); a path the user gives (DATA_DIR here) stays relative to the working directory.
 */
let redis: TestRedis;
let elsewhere: string;
let main: ServerProcess | undefined;

beforeAll(async () => {
  redis = await startTestRedis();
  elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-cwd-'));
});
afterAll(async () => {
  await main?.stop();
  await redis?.stop();
  fs.rmSync(elsewhere, { recursive: true, force: true });
});

test('started from another directory it serves the demo models and keeps data where it was told', async () => {
  // MODELS_PATH unset (not empty, which means "no models of its own"): the default applies.
  const env = { REDIS_URL: redis.url, PORT: '0', MODELS_PATH: undefined, DATA_DIR: 'data' };
  main = runProcess('src/main.js', env, elsewhere);
  const running = await main.waitForLog((l) => /^darkroom is running at /.test(String(l.msg)), 60_000);
  const url = /at (http:\/\/\S+)/.exec(String(running.msg))![1];

  const models = await requestJson(`${url}/v1/models`);
  expect(models.status).toBe(200);
  expect(models.body.models.map((m: any) => m.name)).toEqual(expect.arrayContaining(['demo-cppn', 'demo-colors']));

  // Its worker (a child process, same working directory) loads the same models and runs a job.
  const job = await postJson(`${url}/v1/generations`, { model: 'demo-cppn', n: 1, width: 64, height: 64 });
  expect(job.status).toBe(202);
  expect((await waitForJob(url, job.body.id, 120_000)).status).toBe('succeeded');
  expect(fs.readdirSync(path.join(elsewhere, 'data', 'blobs')).length).toBeGreaterThan(0);
});
