import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { postJson, requestJson, waitForJob } from '../helpers/api-client';
import { startStack, type Stack } from '../helpers/stack';

/** Finished jobs and their files expire together; Redis memory reaches a plateau. */
let stack: Stack;
let redis: Redis;
beforeAll(async () => {
  stack = await startStack({ env: { JOB_RETENTION_SECONDS: '3', BLOB_SWEEP_INTERVAL_SECONDS: '1', BLOB_SWEEP_GRACE_SECONDS: '1', RESULT_CACHE_MB: '0', RATE_LIMIT_PER_MINUTE: '100000' } });
  redis = new Redis(stack.redis.url);
});
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

const generate = async () => {
  const res = await postJson(`${stack.url}/v1/generations`, { model: 'omori-sprite-gan' });
  expect(res.status).toBe(202);
  return waitForJob(stack.url, res.body.id);
};

test('an expired job answers 410 expired, and its files are gone', async () => {
  const job = await generate();
  const folder = path.join(stack.dataDir, 'blobs', 'jobs', job.id);
  expect(fs.existsSync(folder)).toBe(true);
  await new Promise((r) => setTimeout(r, 4000));
  await generate(); // BullMQ trims expired jobs when later ones finish
  for (const url of [`/v1/jobs/${job.id}`, `/v1/jobs/${job.id}/images/0`, `/v1/jobs/${job.id}/archive`]) {
    const res = await requestJson(`${stack.url}${url}`);
    expect({ url, status: res.status, code: res.body.error.code }).toEqual({ url, status: 410, code: 'expired' });
  }
  // A recent id that never existed is still a plain 404.
  const missing = await requestJson(`${stack.url}/v1/jobs/${job.id.replace(/.{4}$/, '0000')}`);
  expect([404, 410]).toContain(missing.status);
  for (let i = 0; i < 100 && fs.existsSync(folder); i++) await new Promise((r) => setTimeout(r, 100));
  expect(fs.existsSync(folder)).toBe(false);
});

test('under a long stream of jobs, Redis keys and memory level off', async () => {
  const samples: { t: number; keys: number; memory: number; jobs: number }[] = [];
  let jobs = 0;
  const started = Date.now();
  const duration = 36_000;
  const client = async () => {
    while (Date.now() - started < duration) {
      const res = await postJson(`${stack.url}/v1/generations`, { model: 'omori-sprite-gan', n: 1 });
      await waitForJob(stack.url, res.body.id);
      jobs += 1;
    }
  };
  const sampler = setInterval(async () => {
    const memory = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    samples.push({ t: Date.now() - started, keys: await redis.dbsize(), memory, jobs });
  }, 3000);
  await Promise.all([client(), client(), client(), client()]);
  clearInterval(sampler);
  const warm = samples.filter((s) => s.t > 12_000);
  const first = warm[0];
  const last = warm[warm.length - 1];
  // Jobs kept coming the whole time, but keys stayed near the level reached once retention kicked in.
  expect(last.jobs - first.jobs).toBeGreaterThan(50);
  expect({ samples, ok: Math.max(...warm.map((s) => s.keys)) <= first.keys * 1.5 + 20 }).toMatchObject({ ok: true });
  expect({ samples, ok: last.memory - first.memory < 16 * 1024 * 1024 }).toMatchObject({ ok: true });
}, 90_000);
