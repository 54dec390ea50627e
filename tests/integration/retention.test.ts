import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { newJobId } from '../../src/jobs/job-contract';
import { postJson, requestJson, waitForJob } from '../helpers/api-client';
import { startStack, type Stack } from '../helpers/stack';

/** Finished jobs and their files expire together; Redis memory reaches a plateau. */
let stack: Stack;
let redis: Redis;
beforeAll(async () => {
  stack = await startStack({
    env: {
      JOB_RETENTION_SECONDS: '3',
      BLOB_SWEEP_INTERVAL_SECONDS: '1',
      BLOB_SWEEP_GRACE_SECONDS: '1',
      RESULT_CACHE_MB: '0',
      RATE_LIMIT_PER_MINUTE: '100000',
    },
  });
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

test('an expired job answers 410 expired on every route; a recent unknown id 404; the files are swept', async () => {
  const job = await generate();
  const folder = path.join(stack.dataDir, 'blobs', 'jobs', job.id);
  expect(fs.existsSync(folder)).toBe(true);
  // Nothing announces that a job has outlived JOB_RETENTION_SECONDS (3 s), so wait until it has,
  // by its own finish time; BullMQ then trims it when a later job finishes.
  const expiresAt = Date.parse(job.finished_at) + 3000 + 50;
  await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now())));
  await generate();
  for (const url of [`/v1/jobs/${job.id}`, `/v1/jobs/${job.id}/images/0`, `/v1/jobs/${job.id}/archive`]) {
    const res = await requestJson(`${stack.url}${url}`);
    expect({ url, status: res.status, code: res.body.error.code }).toEqual({ url, status: 410, code: 'expired' });
  }
  // An id made just now that never existed is a plain 404.
  const recent = await requestJson(`${stack.url}/v1/jobs/${newJobId('generation')}`);
  expect({ status: recent.status, code: recent.body.error.code }).toEqual({ status: 404, code: 'not_found' });
  // One that never existed but whose id is older than retention is 410: job ids carry only their
  // time, so the API cannot tell it from an expired job (and keeps nothing per job to do so).
  const old = await requestJson(`${stack.url}/v1/jobs/${job.id.replace(/.{4}$/, '0000')}`);
  expect({ status: old.status, code: old.body.error.code }).toEqual({ status: 410, code: 'expired' });
  // The blob sweep runs every second (BLOB_SWEEP_INTERVAL_SECONDS) and logs what it removed.
  await stack.workers[0].waitForLog((l) => l.msg === 'expired job files removed' && !fs.existsSync(folder), 15_000);
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
