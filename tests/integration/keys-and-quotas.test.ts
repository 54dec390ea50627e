import { requestJson, waitForJob } from '../helpers/api-client';
import { startStack, type Stack } from '../helpers/stack';

/** API keys, job ownership, per-key quotas, fair scheduling, idempotency and rate limits. */
const ALICE = 'alice-key-0000000000000001';
const BOB = 'bob-key-00000000000000002';
const CAROL = 'carol-key-0000000000000003';

/** carol's queued jobs, from the quota test: the backlog in the fairness test. */
const carolJobs: string[] = [];

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    noWorkers: true,
    env: {
      API_KEYS: `alice:${ALICE},bob:${BOB},carol:${CAROL}`,
      MAX_JOBS_IN_FLIGHT_PER_KEY: '12',
      RATE_LIMIT_PER_MINUTE: '40',
    },
    workerEnv: { WORKER_CONCURRENCY: '1' },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const as = (key: string | undefined, path: string, init: RequestInit = {}) =>
  requestJson(`${stack.url}${path}`, {
    ...init,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...(init.headers as Record<string, string>),
    },
  });
const submit = (key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  as(key, '/v1/generations', { method: 'POST', body: JSON.stringify(body), headers });

test('every /v1 route needs a valid key; health does not', async () => {
  for (const [method, path] of [
    ['GET', '/v1/models'],
    ['POST', '/v1/generations'],
    ['GET', '/v1/jobs/gen_00000000-0000-4000-8000-000000000000'],
    ['POST', '/v1/batches'],
    ['POST', '/v1/images/generations'],
  ]) {
    const none = await as(undefined, path, { method });
    expect({ path, status: none.status, code: none.body?.error?.code }).toEqual({
      path,
      status: 401,
      code: 'missing_api_key',
    });
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    const wrong = await as('not-a-real-key-at-all-000', path, { method });
    expect({ path, status: wrong.status, code: wrong.body?.error?.code }).toEqual({
      path,
      status: 401,
      code: 'invalid_api_key',
    });
  }
  expect((await as(ALICE, '/v1/models')).status).toBe(200);
  expect((await as(undefined, '/healthz')).status).toBe(200);
});

test('a job belongs to its key: another key gets 404 on every route', async () => {
  const job = await submit(ALICE, { model: 'demo-cppn' });
  expect(job.status).toBe(202);
  const id = job.body.id;
  for (const [method, path] of [
    ['GET', `/v1/jobs/${id}`],
    ['GET', `/v1/jobs/${id}/images/0`],
    ['GET', `/v1/jobs/${id}/archive`],
    ['GET', `/v1/jobs/${id}/events`],
    ['DELETE', `/v1/jobs/${id}`],
  ]) {
    const res = await as(BOB, path, { method });
    expect({ path, method, status: res.status }).toEqual({ path, method, status: 404 });
  }
  expect((await as(ALICE, `/v1/jobs/${id}`)).body.status).toBe('queued');
  const batch = await as(ALICE, '/v1/batches', {
    method: 'POST',
    body: JSON.stringify({ requests: [{ type: 'generation', model: 'omori-sprite-gan' }] }),
  });
  expect(batch.status).toBe(202);
  for (const path of [
    `/v1/batches/${batch.body.id}`,
    `/v1/batches/${batch.body.id}/archive`,
    `/v1/jobs/${batch.body.jobs[0].id}`,
  ]) {
    expect({ path, status: (await as(BOB, path)).status }).toEqual({ path, status: 404 });
  }
  expect((await as(ALICE, `/v1/batches/${batch.body.id}`)).status).toBe(200);
});

test('Idempotency-Key: same key and body give the same job; another body is 422', async () => {
  const headers = { 'idempotency-key': 'order-1234' };
  const a = await submit(BOB, { model: 'demo-cppn', seed: 1 }, headers);
  const b = await submit(BOB, { model: 'demo-cppn', seed: 1 }, headers);
  expect(a.status).toBe(202);
  expect(b.status).toBe(202);
  expect(b.body.id).toBe(a.body.id);
  const c = await submit(BOB, { model: 'demo-cppn', seed: 2 }, headers);
  expect(c.status).toBe(422);
  expect(c.body.error.code).toBe('idempotency_key_reused');
  // Keys are per API key: the same header from alice is a different request.
  const d = await submit(ALICE, { model: 'demo-cppn', seed: 1 }, headers);
  expect(d.body.id).not.toBe(a.body.id);
});

test('a key with too many jobs in flight gets 429 with Retry-After', async () => {
  const statuses: number[] = [];
  let refused;
  for (let i = 0; i < 14; i++) {
    const res = await submit(CAROL, { model: 'omori-sprite-gan', seed: i });
    statuses.push(res.status);
    if (res.status === 202) carolJobs.push(res.body.id);
    if (res.status === 429) refused = res;
  }
  expect(statuses.filter((s) => s === 202)).toHaveLength(12);
  expect(refused!.body.error.code).toBe('too_many_jobs_in_flight');
  expect(refused!.headers.get('retry-after')).toBeTruthy();
});

test("fair scheduling: one key's backlog does not starve another key's single job", async () => {
  expect(carolJobs).toHaveLength(12);
  const late = await submit(BOB, { model: 'omori-sprite-gan', seed: 777 });
  expect(late.status).toBe(202);
  // One worker running one job at a time: the order of completion is the scheduling order.
  await stack.addWorker({ WORKER_CONCURRENCY: '1' });
  await waitForJob(stack.url, late.body.id, 60_000, 'jobs', { authorization: `Bearer ${BOB}` });
  const lateJob = (await as(BOB, `/v1/jobs/${late.body.id}`)).body;
  expect(lateJob.status).toBe('succeeded');
  const carol = await Promise.all(carolJobs.map((id) => as(CAROL, `/v1/jobs/${id}`)));
  const carolFirst = carol.filter(
    (r) => r.body.finished_at && Date.parse(r.body.finished_at) < Date.parse(lateJob.finished_at),
  ).length;
  // FIFO would run all 12 of carol's first; fair priorities run bob's job after at most a couple.
  expect(carolFirst).toBeLessThanOrEqual(3);
  for (const id of carolJobs)
    expect((await waitForJob(stack.url, id, 60_000, 'jobs', { authorization: `Bearer ${CAROL}` })).status).toBe(
      'succeeded',
    );
});

test('submissions beyond the per-key rate limit get 429 rate_limited', async () => {
  let limited;
  for (let i = 0; i < 45 && !limited; i++) {
    const res = await submit(ALICE, { model: 'nope' }); // invalid on purpose: it still counts
    if (res.status === 429) limited = res;
    else expect(res.status).toBe(422);
  }
  expect(limited!.body.error.code).toBe('rate_limited');
  expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
  // Polling is not rate limited.
  expect((await as(ALICE, '/v1/models')).status).toBe(200);
});
