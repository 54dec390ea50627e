import { Redis } from 'ioredis';
import { postJson, requestJson, waitForJob } from '../helpers/api-client';
import { ADMIN_PASSWORD, startStack, type Stack } from '../helpers/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const basic = (user: string, pass: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`,
});

test('Bull Board answers 401 without credentials and 200 with them', async () => {
  const none = await fetch(`${stack.url}/admin/queues`);
  expect(none.status).toBe(401);
  expect(none.headers.get('www-authenticate')).toContain('Basic');
  expect((await fetch(`${stack.url}/admin/queues`, { headers: basic('admin', 'wrong-password') })).status).toBe(401);
  const ok = await fetch(`${stack.url}/admin/queues`, { headers: basic('admin', ADMIN_PASSWORD) });
  expect(ok.status).toBe(200);
  expect(await ok.text()).toContain('<html');
  const api = await requestJson(`${stack.url}/admin/queues/api/queues`, { headers: basic('admin', ADMIN_PASSWORD) });
  expect(api.status).toBe(200);
  // The per-type queues, and a queue per job type and model (docs/scaling.md).
  expect(api.body.queues.map((q: any) => q.name).sort()).toEqual([
    'batch',
    'classification',
    'classification@demo-colors',
    'classification@mobilenetv2-12-int8',
    'classification@squeezenet1.1',
    'generation',
    'generation@demo-cppn',
    'generation@demo-diffusion',
    'generation@omori-sprite-gan',
    'image_to_image',
    'image_to_image@demo-diffusion',
    'webhooks',
  ]);
  expect((await fetch(`${stack.url}/admin/queues/api/queues`)).status).toBe(401);
});

test('health and readiness', async () => {
  expect((await requestJson(`${stack.url}/healthz`)).body).toEqual({ status: 'ok' });
  expect((await requestJson(`${stack.url}/readyz`)).status).toBe(200);
});

test('the worker keeps its event loop free while models run on inference threads', async () => {
  const redis = new Redis(stack.redis.url);
  try {
    const readBeat = async () => {
      const keys = await redis.keys('darkroom:workers:*');
      expect(keys).toHaveLength(1);
      return JSON.parse((await redis.get(keys[0]))!);
    };
    const startedAt = (await readBeat()).event_loop_max_ms; // startup, before any job
    const lags: number[] = [];
    const jobs = await Promise.all([
      postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn', n: 16, width: 512, height: 512 }),
      postJson(`${stack.url}/v1/generations`, { model: 'omori-sprite-gan', n: 16 }),
      postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn', n: 16, width: 512, height: 512, prompt: 'second' }),
    ]);
    const poller = setInterval(() => void readBeat().then((b) => lags.push(b.event_loop_max_ms)), 500);
    for (const j of jobs) expect((await waitForJob(stack.url, j.body.id)).status).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 2500)); // one heartbeat that covers the end of the work
    clearInterval(poller);
    const beat = await readBeat();
    expect(beat.models.find((m: any) => m.name === 'demo-cppn')).toMatchObject({ provider: 'cpu' });
    expect(beat.models.find((m: any) => m.name === 'demo-cppn').maxBatch).toBeGreaterThan(1);
    expect({ startedAt, lags, ok: lags.length > 0 && Math.max(...lags) < 250 }).toMatchObject({ ok: true });
  } finally {
    redis.disconnect();
  }
});

test('while Redis is down the API answers 503 at once, and recovers by itself', async () => {
  await stack.redis.restart(1500).catch(() => undefined);
  // restart() waits for Redis to come back; stop it for good this time and probe.
  stack.redis.process.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  const ready = await requestJson(`${stack.url}/readyz`);
  expect(ready.status).toBe(503);
  const post = await postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn' });
  expect(post.status).toBe(503);
  expect(post.body.error.code).toBe('redis_unavailable');
  expect(post.headers.get('retry-after')).toBe('5');
  await stack.redis.restart();
  for (let i = 0; i < 100 && (await requestJson(`${stack.url}/readyz`)).status !== 200; i++)
    await new Promise((r) => setTimeout(r, 100));
  const after = await postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn' });
  expect(after.status).toBe(202);
  expect((await waitForJob(stack.url, after.body.id)).status).toBe('succeeded');
});
