import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { WEBHOOK_QUEUE } from '../../src/webhooks/webhook-queue';
import { postJson, requestJson, waitForJob } from '../helpers/api-client';
import { startStack, type Stack } from '../helpers/stack';
import { LONG_GENERATION } from '../helpers/long-job';

/** Webhooks end to end: a real receiver on loopback, real API and worker processes. */

const SECRET = 'whsec-integration-test-0123456789';

interface Delivery {
  path: string;
  event: string;
  id: string;
  signature: string;
  body: string;
  status: number;
}

/** A webhook receiver: records every request; `answers[path]` picks the status of the n-th request to that path. */
function startReceiver() {
  const deliveries: Delivery[] = [];
  const answers: Record<string, (n: number) => number> = {};
  const waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const path = req.url ?? '';
      const status = answers[path]?.(deliveries.filter((d) => d.path === path).length) ?? 200;
      const header = (name: string) => String(req.headers[name] ?? '');
      deliveries.push({
        path,
        event: header('darkroom-event'),
        id: header('darkroom-delivery'),
        signature: header('darkroom-signature'),
        body,
        status,
      });
      res.writeHead(status).end();
      for (const wake of waiters.splice(0)) wake();
    });
  });
  const at = (path: string) => deliveries.filter((d) => d.path === path);
  return {
    server,
    answers,
    at,
    url: (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    /** Resolves with the deliveries to `path` once `done` holds for them, checked on every delivery. */
    async waitFor(path: string, done: (list: Delivery[]) => boolean, timeoutMs = 30_000): Promise<Delivery[]> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(new Error(`receiver: ${path} got only ${JSON.stringify(at(path).map((d) => [d.event, d.status]))}`)),
          timeoutMs,
        );
      });
      try {
        while (!done(at(path))) await Promise.race([new Promise<void>((resolve) => waiters.push(resolve)), timeout]);
        return at(path);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The secret deliveries of this (open) server's jobs are signed with, from GET /v1/webhook-secret. */
let signingSecret = '';

/** Signature verification exactly as the README shows it to receivers. */
function verify(header: string, body: string, toleranceSeconds = 300, secret = signingSecret): boolean {
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=', 2)));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const receiver = startReceiver();
let stack: Stack;
beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
  stack = await startStack({
    env: { WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_BACKOFF_MS: '100' },
  });
  const res = await requestJson(`${stack.url}/v1/webhook-secret`);
  expect(res).toMatchObject({ status: 200, body: { algorithm: 'HMAC-SHA256' } });
  expect(res.headers.get('cache-control')).toBe('no-store');
  signingSecret = res.body.secret;
});
afterAll(async () => {
  await stack?.stop();
  receiver.server.closeAllConnections();
  await new Promise((resolve) => receiver.server.close(resolve));
});

/** Resolves once the webhook queue holds no delivery waiting, running or due for a retry. */
async function deliveriesSettled(timeoutMs = 30_000): Promise<void> {
  const connection = new Redis(stack.redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue(WEBHOOK_QUEUE, { connection, prefix: 'darkroom' });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
      if (Object.values(counts).every((n) => n === 0)) return;
      if (Date.now() > deadline) throw new Error(`webhook deliveries still pending: ${JSON.stringify(counts)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

const getJob = async (id: string) => (await requestJson(`${stack.url}/v1/jobs/${id}`)).body;

test('all events: running, progress and succeeded arrive in order, signed, with the job as GET shows it', async () => {
  const res = await postJson(`${stack.url}/v1/generations`, {
    model: 'demo-cppn',
    n: 6,
    width: 256,
    height: 256,
    webhook: { url: receiver.url('/all'), events: ['running', 'progress', 'succeeded', 'failed', 'canceled'] },
  });
  expect(res.status).toBe(202);
  expect(res.body.params.webhook).toBeUndefined(); // not a model parameter, and not shown
  const list = await receiver.waitFor('/all', (l) => l.some((d) => d.event === 'succeeded'));
  const job = await waitForJob(stack.url, res.body.id);
  expect(job.status).toBe('succeeded');
  // Nothing may follow: once no delivery is left waiting, running or due for a retry, every event
  // queued for the job has reached the receiver.
  await deliveriesSettled();
  const events = receiver.at('/all').map((d) => d.event);
  expect(events[0]).toBe('running');
  expect(events.at(-1)).toBe('succeeded');
  expect(events.slice(1, -1).length).toBeGreaterThanOrEqual(1);
  expect(new Set(events.slice(1, -1))).toEqual(new Set(['progress']));
  for (const d of list)
    expect({ event: d.event, valid: verify(d.signature, d.body) }).toEqual({ event: d.event, valid: true });
  // Signed with the key's own secret, not the server's WEBHOOK_SECRET itself.
  expect(list.some((d) => verify(d.signature, d.body, 300, SECRET))).toBe(false);
  expect(new Set(list.map((d) => d.id)).size).toBe(list.length);
  const bodies = list.map((d) => JSON.parse(d.body));
  expect(bodies.map((b) => b.id)).toEqual(list.map(() => job.id));
  expect(bodies.map((b) => b.status)).toEqual([...list.slice(0, -1).map(() => 'running'), 'succeeded']);
  expect(bodies[1].progress).toBeGreaterThan(0);
  expect(bodies.at(-1)).toEqual(await getJob(job.id));
});

test('a receiver failing twice gets the event on the third attempt, with the same delivery id and body', async () => {
  receiver.answers['/flaky'] = (n) => (n < 2 ? 500 : 204);
  const res = await postJson(`${stack.url}/v1/generations`, {
    model: 'omori-sprite-gan',
    webhook: { url: receiver.url('/flaky') },
  });
  expect(res.status).toBe(202);
  const list = await receiver.waitFor('/flaky', (l) => l.some((d) => d.status === 204));
  expect(list.map((d) => [d.event, d.status])).toEqual([
    ['succeeded', 500],
    ['succeeded', 500],
    ['succeeded', 204],
  ]);
  expect(new Set(list.map((d) => d.id)).size).toBe(1);
  expect(new Set(list.map((d) => d.body)).size).toBe(1);
  for (const d of list) expect(verify(d.signature, d.body)).toBe(true);
  expect(JSON.parse(list[0].body)).toEqual(await getJob(res.body.id));
});

test('a canceled job delivers canceled', async () => {
  const res = await postJson(`${stack.url}/v1/generations`, {
    ...LONG_GENERATION,
    webhook: { url: receiver.url('/cancel'), events: ['running', 'canceled'] },
  });
  expect(res.status).toBe(202);
  await receiver.waitFor('/cancel', (l) => l.some((d) => d.event === 'running'));
  expect((await requestJson(`${stack.url}/v1/jobs/${res.body.id}`, { method: 'DELETE' })).status).toBe(202);
  const list = await receiver.waitFor('/cancel', (l) => l.some((d) => d.event === 'canceled'));
  expect(list.map((d) => d.event)).toEqual(['running', 'canceled']);
  const body = JSON.parse(list[1].body);
  expect(body).toMatchObject({ id: res.body.id, status: 'canceled', error: { code: 'canceled' } });
  expect(verify(list[1].signature, list[1].body)).toBe(true);
  expect(body).toEqual(await getJob(res.body.id));
});

test('batch items and multipart classifications carry webhooks too', async () => {
  const batch = await postJson(`${stack.url}/v1/batches`, {
    requests: [
      { type: 'generation', model: 'omori-sprite-gan', webhook: { url: receiver.url('/batch') } },
      { type: 'generation', model: 'omori-sprite-gan' },
    ],
  });
  expect(batch.status).toBe(202);
  const form = new FormData();
  form.set('model', 'demo-colors');
  form.set('webhook', JSON.stringify({ url: receiver.url('/form'), events: ['succeeded'] }));
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 200, g: 20, b: 20 } } })
    .png()
    .toBuffer();
  form.append('image', new Blob([new Uint8Array(png)]), 'red.png');
  const cls = await requestJson(`${stack.url}/v1/classifications`, { method: 'POST', body: form });
  expect(cls.status).toBe(202);
  const [fromBatch] = await receiver.waitFor('/batch', (l) => l.length > 0);
  expect(JSON.parse(fromBatch.body)).toMatchObject({
    id: batch.body.jobs[0].id,
    status: 'succeeded',
    batch_id: batch.body.id,
  });
  const [fromForm] = await receiver.waitFor('/form', (l) => l.length > 0);
  expect(JSON.parse(fromForm.body)).toMatchObject({ id: cls.body.id, type: 'classification', status: 'succeeded' });
  await waitForJob(stack.url, batch.body.id, 60_000, 'batches');
  expect(receiver.at('/batch')).toHaveLength(1);
});

test('webhook URLs into private or loopback networks are refused at submission with 422', async () => {
  const cases: [string, unknown, string][] = [
    ['/v1/generations', { webhook: { url: 'http://10.0.0.1/hook' } }, 'webhook.url'],
    ['/v1/generations', { webhook: { url: 'http://[::1]:1/' } }, 'webhook.url'],
    ['/v1/generations', { webhook: { url: 'http://169.254.169.254/latest/meta-data/' } }, 'webhook.url'],
    // Loopback inside IPv6: a local-use NAT64 prefix, and 6to4.
    ['/v1/generations', { webhook: { url: 'http://[64:ff9b:1::7f00:1]/' } }, 'webhook.url'],
    ['/v1/generations', { webhook: { url: 'http://[2002:7f00:1::]/' } }, 'webhook.url'],
    [
      '/v1/batches',
      { requests: [{ type: 'generation' }, { type: 'generation', webhook: { url: 'http://192.168.0.10/' } }] },
      'requests.1.webhook.url',
    ],
  ];
  for (const [path, body, field] of cases) {
    const res = await postJson(`${stack.url}${path}`, body);
    expect({
      path,
      body,
      status: res.status,
      code: res.body.error?.code,
      field: res.body.error?.details?.[0]?.field,
    }).toEqual({ path, body, status: 422, code: 'webhook_url_not_allowed', field });
  }
  const form = new FormData();
  form.set('webhook', JSON.stringify({ url: 'http://10.0.0.1/hook' }));
  form.append(
    'image',
    new Blob([
      new Uint8Array(
        await sharp({ create: { width: 8, height: 8, channels: 3, background: 'white' } })
          .png()
          .toBuffer(),
      ),
    ]),
    'w.png',
  );
  const multipart = await requestJson(`${stack.url}/v1/classifications`, { method: 'POST', body: form });
  expect({ status: multipart.status, code: multipart.body.error?.code }).toEqual({
    status: 422,
    code: 'webhook_url_not_allowed',
  });
  const scheme = await postJson(`${stack.url}/v1/generations`, { webhook: { url: 'file:///etc/passwd' } });
  expect({ status: scheme.status, code: scheme.body.error?.code }).toEqual({ status: 422, code: 'validation_error' });
});
