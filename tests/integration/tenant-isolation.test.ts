import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { verifySignatureHeader } from '../../src/webhooks/webhook-signature';
import { requestJson, waitForJob } from '../helpers/api-client';
import { DIST, requireShared } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';

/** What one API key may learn about another's work: nothing, through the cache, webhooks or the open-mode owner. */

const SECRET = 'whsec-tenancy-test-0123456789';
const KEYS = { alice: 'alice-key-00000000000001', bob: 'bob-key-000000000000000002' };
type Who = keyof typeof KEYS;

/** A webhook receiver on loopback: records each delivery's path, signature and raw body. */
const deliveries: { path: string; signature: string; body: string }[] = [];
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    deliveries.push({ path: req.url ?? '', signature: String(req.headers['darkroom-signature'] ?? ''), body });
    res.writeHead(204).end();
  });
});

let stack: Stack;
beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  stack = await startStack({
    env: {
      API_KEYS: `alice:${KEYS.alice},bob:${KEYS.bob}`,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

const as = (who: Who, urlPath: string, body?: unknown) =>
  requestJson(`${stack.url}${urlPath}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${KEYS[who]}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
/** Submits, waits, and returns the finished job as its owner sees it. */
const run = async (who: Who, urlPath: string, body: unknown) => {
  const res = await as(who, urlPath, body);
  expect(res.status).toBe(202);
  return waitForJob(stack.url, res.body.id, 60_000, 'jobs', { authorization: `Bearer ${KEYS[who]}` });
};

test("the result cache answers a key only with that key's own work, done or in flight", async () => {
  const photo = fs.readFileSync(requireShared('images/tabby_cat_small.jpg')).toString('base64');
  const classify = { model: 'demo-colors', images: [photo] };
  // Submitted together, the two jobs run together: neither may share the other's run or result.
  const [alice, bob] = await Promise.all([
    run('alice', '/v1/classifications', classify),
    run('bob', '/v1/classifications', classify),
  ]);
  const cachedFlags = (job: any) => [
    job.status,
    job.result.cached,
    ...job.result.predictions.map((p: any) => p.cached),
  ];
  expect({ alice: cachedFlags(alice), bob: cachedFlags(bob) }).toEqual({
    alice: ['succeeded', false, false],
    bob: ['succeeded', false, false],
  });
  // The cache still works within a key.
  expect(cachedFlags(await run('bob', '/v1/classifications', classify))).toEqual(['succeeded', true, true]);

  const generate = { model: 'demo-cppn', prompt: 'a shared seed', seed: 4242, n: 2 };
  const first = await run('alice', '/v1/generations', generate);
  const second = await run('bob', '/v1/generations', generate);
  expect([first.result.cached, second.result.cached, ...second.result.images.map((i: any) => i.cached)]).toEqual([
    false,
    false,
    false,
    false,
  ]);
  expect((await run('alice', '/v1/generations', generate)).result.cached).toBe(true);
});

test("each key's webhook deliveries are signed with its own secret, which only it can read", async () => {
  const alice = await as('alice', '/v1/webhook-secret');
  const bob = await as('bob', '/v1/webhook-secret');
  expect([alice.status, bob.status, alice.body.algorithm, alice.headers.get('cache-control')]).toEqual([
    200,
    200,
    'HMAC-SHA256',
    'no-store',
  ]);
  expect(new Set([alice.body.secret, bob.body.secret, SECRET]).size).toBe(3);
  expect((await requestJson(`${stack.url}/v1/webhook-secret`)).status).toBe(401);

  const hook = (p: string) => ({
    url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}${p}`,
    events: ['succeeded'],
  });
  await run('alice', '/v1/generations', { model: 'omori-sprite-gan', webhook: hook('/alice') });
  await run('bob', '/v1/generations', { model: 'omori-sprite-gan', webhook: hook('/bob') });
  const deadline = Date.now() + 30_000;
  while (!['/alice', '/bob'].every((p) => deliveries.some((d) => d.path === p)) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const verifies = (p: string) => {
    const d = deliveries.find((x) => x.path === p);
    if (!d) return `no delivery to ${p}`;
    return {
      alice: verifySignatureHeader(alice.body.secret, d.signature, d.body),
      bob: verifySignatureHeader(bob.body.secret, d.signature, d.body),
      server: verifySignatureHeader(SECRET, d.signature, d.body),
    };
  };
  expect(verifies('/alice')).toEqual({ alice: true, bob: false, server: false });
  expect(verifies('/bob')).toEqual({ alice: false, bob: true, server: false });
});

/** Starts an API on `env` and reports how it ended: it exited (with its output), or it listened and answered GET `jobPath` with `key`. */
function tryApi(
  env: NodeJS.ProcessEnv,
  jobPath: string,
  key: string,
): Promise<{ exit: number | null; output: string } | { listening: true; jobStatus: number }> {
  const child = spawn(process.execPath, [path.join(DIST, 'src/api-main.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => (child.kill('SIGKILL'), reject(new Error(`the API neither exited nor listened in 30 s:\n${output}`))),
      30_000,
    );
    child.on('exit', (code) => (clearTimeout(timer), resolve({ exit: code, output })));
    const onData = (d: Buffer) => {
      output += d;
      const url =
        /"msg":"darkroom API listening".*?"url":"([^"]+)"|"url":"([^"]+)".*?"msg":"darkroom API listening"/.exec(
          output,
        );
      if (!url) return;
      child.stdout!.off('data', onData);
      clearTimeout(timer);
      void (async () => {
        await new Promise((r) => setTimeout(r, 500)); // its Redis connection becomes ready
        const res = await fetch(`${url[1] ?? url[2]}${jobPath}`, { headers: { authorization: `Bearer ${key}` } });
        child.kill('SIGKILL');
        resolve({ listening: true, jobStatus: res.status });
      })();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (output += d));
  });
}

test('a key named "anonymous" is refused at start, so it cannot read the jobs made while keys were off', async () => {
  const open = await startStack({ noWorkers: true });
  try {
    const made = await requestJson(`${open.url}/v1/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'omori-sprite-gan' }),
    });
    expect(made.status).toBe(202);
    const taker = 'anonymous-key-0123456789';
    const outcome = await tryApi({ ...open.env, API_KEYS: `anonymous:${taker}` }, `/v1/jobs/${made.body.id}`, taker);
    expect(outcome).toMatchObject({
      exit: 78,
      output: expect.stringContaining('API_KEYS: API key name "anonymous" is reserved'),
    });
    expect((await requestJson(`${open.url}/v1/jobs/${made.body.id}`)).status).toBe(200);
    // Without WEBHOOK_SECRET there is no secret to hand out.
    const secret = await requestJson(`${open.url}/v1/webhook-secret`);
    expect({ status: secret.status, code: secret.body.error?.code }).toEqual({
      status: 422,
      code: 'webhooks_not_configured',
    });
  } finally {
    await open.stop();
  }
});
