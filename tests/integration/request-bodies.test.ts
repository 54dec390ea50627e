import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import { requestJson } from '../helpers/api-client';
import { startStack, type Stack } from '../helpers/stack';

/**
 * How the API reads request bodies (issue 9, items 1, 3 and 5): only routes that take a body read
 * it, and only after the key check; JSON is bounded by its inflated size and its nesting depth
 * while it arrives; arrays are bounded before any work that grows with them; a body the route
 * cannot read is a 415 naming what it can, never silently `{}`.
 */
const KEY = 'bodies-key-0000000000000001';
const AUTH = { authorization: `Bearer ${KEY}` };
const JSON_TYPE = { 'content-type': 'application/json' };
const P99_BOUND_MS = 250;

/** `depth` `[` then as many `]`: 2 * depth bytes of JSON, gzipped (16 million deep: 32 MB in about 31 KB). */
const nestedGzip = (depth: number) =>
  zlib.gzipSync(Buffer.concat([Buffer.alloc(depth, '['), Buffer.alloc(depth, ']')]), { level: 9 });
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ noWorkers: true, env: { API_KEYS: `bodies:${KEY}`, RATE_LIMIT_PER_MINUTE: '100000' } });
});
afterAll(async () => {
  await stack?.stop();
});

const post = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
  requestJson(`${stack.url}${path}`, {
    method: 'POST',
    headers: { ...AUTH, ...headers },
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });

/**
 * Sends `bomb` to each target in a loop until told to stop, then posts back every answer. A
 * worker thread, so that the senders' own work does not delay the /healthz timings taken here.
 */
const SENDERS = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, bomb, clients } = workerData;
const answers = [];
let sending = true;
parentPort.once('message', () => (sending = false));
Promise.all(clients.map(async ({ path, headers }) => {
  while (sending) {
    const res = await fetch(url + path, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
    const text = await res.text();
    let code;
    try { code = JSON.parse(text).error.code; } catch { code = 'not json: ' + text.slice(0, 40); }
    answers.push({ path, key: 'authorization' in headers, status: res.status, code, json: (res.headers.get('content-type') || '').startsWith('application/json') });
  }
})).then(() => parentPort.postMessage(answers));
`;

test('4 clients sending 32 MB of nesting in 31 KB of gzip: /healthz stays quick (p99 goal 100 ms), each gets a 4xx JSON error', async () => {
  const bomb = nestedGzip(16_000_000);
  expect(bomb.length).toBeLessThan(40_000);
  const clients = [
    { path: '/v1/generations', headers: {} },
    { path: '/x', headers: {} },
    { path: '/v1/generations', headers: AUTH },
    { path: '/v1/no-such-route', headers: AUTH },
  ];
  await fetch(`${stack.url}/healthz`).then((r) => r.text());
  const senders = new Worker(SENDERS, {
    eval: true,
    workerData: { url: stack.url, bomb: new Uint8Array(bomb), clients },
  });
  const done = new Promise<{ path: string; key: boolean; status: number; code?: string; json: boolean }[]>(
    (resolve, reject) => {
      senders.once('message', resolve);
      senders.once('error', reject);
    },
  );
  const latencies: number[] = [];
  const until = Date.now() + 6000;
  try {
    while (Date.now() < until) {
      const started = performance.now();
      const res = await fetch(`${stack.url}/healthz`);
      await res.text();
      latencies.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    senders.postMessage('stop');
  }
  const answers = await done;
  await senders.terminate();

  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.ceil(latencies.length * q) - 1]);
  // Figures for the record (the README quotes them): samples, answers to the senders, p50, p99, max.
  console.log(
    JSON.stringify({ samples: latencies.length, answers: answers.length, p50: at(0.5), p99: at(0.99), max: at(1) }),
  );
  // The goal is p99 under 100 ms (met on an idle machine); the bound here leaves room for a shared
  // 2-core CI box, where /healthz alone has a p99 of tens of ms. Before the fix it was over 12 s.
  expect({ samples: latencies.length > 100, p99Under250ms: at(0.99) < P99_BOUND_MS, p99: at(0.99) }).toEqual({
    samples: true,
    p99Under250ms: true,
    p99: expect.any(Number),
  });
  const expected: Record<string, [number, string]> = {
    'false /v1/generations': [401, 'missing_api_key'],
    'false /x': [404, 'route_not_found'],
    'true /v1/generations': [400, 'json_too_deep'],
    'true /v1/no-such-route': [404, 'route_not_found'],
  };
  for (const [who, [status, code]] of Object.entries(expected)) {
    const mine = answers.filter((a) => `${a.key} ${a.path}` === who);
    expect({ who, answered: mine.length > 0 }).toEqual({ who, answered: true });
    for (const a of mine)
      expect({ who, status: a.status, code: a.code, json: a.json }).toEqual({ who, status, code, json: true });
  }
}, 120_000);

test('nesting deeper than MAX_JSON_DEPTH (32) is refused before parsing; 32 levels are read', async () => {
  const deep = await post('/v1/generations', `{"prompt": ${nested(32)}}`, JSON_TYPE);
  expect({ status: deep.status, code: deep.body.error?.code }).toEqual({ status: 400, code: 'json_too_deep' });
  expect(deep.body.error.message).toContain('32');
  const ok = await post('/v1/generations', `{"prompt": ${nested(31)}}`, JSON_TYPE);
  expect({ status: ok.status, code: ok.body.error?.code, field: ok.body.error?.details?.[0]?.field }).toEqual({
    status: 422,
    code: 'validation_error',
    field: 'prompt',
  });
  // Brackets inside strings are text, not nesting.
  const text = await post(
    '/v1/generations',
    JSON.stringify({ model: 'demo-cppn', prompt: `${'['.repeat(100)}"${'{'.repeat(100)}` }),
    JSON_TYPE,
  );
  expect({ status: text.status, code: text.body.error?.code }).toEqual({ status: 202, code: undefined });
  // The OpenAI route answers the same refusal in OpenAI's shape.
  const openai = await post('/v1/images/generations', `{"prompt": "x", "n": ${nested(40)}}`, JSON_TYPE);
  expect(openai).toMatchObject({
    status: 400,
    body: { error: { type: 'invalid_request_error', code: 'json_too_deep', param: null } },
  });
});

test('a body a route cannot read is 415 naming the types it takes; an empty JSON body is {}', async () => {
  const cases: [string, string, string, string][] = [
    // What `curl -d '{"prompt":"a red circle","n":2}'` sends.
    ['/v1/generations', 'application/x-www-form-urlencoded', '{"prompt":"a red circle","n":2}', 'application/json'],
    ['/v1/generations', 'application/x-www-form-urlencoded', 'prompt=hi', 'application/json'],
    ['/v1/generations', 'text/plain', '{"prompt":"hi"}', 'application/json'],
    [
      '/v1/generations',
      'multipart/form-data; boundary=b',
      '--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhi\r\n--b--\r\n',
      'application/json',
    ],
    ['/v1/batches', 'application/x-www-form-urlencoded', 'requests=1', 'application/json'],
    [
      '/v1/classifications',
      'application/x-www-form-urlencoded',
      'image=abc',
      'application/json or multipart/form-data',
    ],
    ['/v1/image-to-image', 'text/plain', 'x', 'application/json or multipart/form-data'],
  ];
  for (const [path, type, body, accepted] of cases) {
    const res = await post(path, body, { 'content-type': type });
    expect({ path, type, status: res.status, code: res.body.error?.code }).toEqual({
      path,
      type,
      status: 415,
      code: 'unsupported_media_type',
    });
    expect(res.body.error.message).toContain(accepted);
  }
  const openai = await post('/v1/images/generations', '{"prompt":"hi"}', {
    'content-type': 'application/x-www-form-urlencoded',
  });
  expect(openai).toMatchObject({
    status: 415,
    body: { error: { type: 'invalid_request_error', code: 'unsupported_media_type' } },
  });
  expect(openai.body.error.message).toContain('application/json');

  const empty = await post('/v1/generations', '', JSON_TYPE);
  expect(empty.status).toBe(202);
  expect(empty.body.params).toMatchObject({ n: 1, prompt: '' });
  const none = await requestJson(`${stack.url}/v1/generations`, { method: 'POST', headers: AUTH });
  expect(none.status).toBe(202);
});

test('an images array of 7 million entries is refused at once with a 4xx, not a 500 after seconds', async () => {
  const body = `{"model":"demo-colors","images":[${'"A",'.repeat(7_000_000 - 1)}"A"]}`;
  const started = Date.now();
  const res = await post('/v1/classifications', body, JSON_TYPE);
  const seconds = (Date.now() - started) / 1000;
  expect({ status: res.status, code: res.body?.error?.code, fast: seconds < 10 }).toEqual({
    status: 422,
    code: 'validation_error',
    fast: true,
  });
  expect(res.body.error.details[0]).toMatchObject({ field: 'images' });
  // Under the schema's ceiling but over MAX_IMAGES_PER_REQUEST (16): refused before any is decoded.
  const seventeen = await post(
    '/v1/classifications',
    JSON.stringify({ model: 'demo-colors', images: Array(17).fill('A') }),
    JSON_TYPE,
  );
  expect({ status: seventeen.status, code: seventeen.body.error?.code }).toEqual({
    status: 413,
    code: 'too_many_images',
  });
  const batch = await post(
    '/v1/batches',
    JSON.stringify({ requests: [{ type: 'classification', images: Array(17).fill('A') }] }),
    JSON_TYPE,
  );
  expect({ status: batch.status, code: batch.body.error?.code, field: batch.body.error?.details?.[0]?.field }).toEqual({
    status: 413,
    code: 'too_many_images',
    field: 'requests.0.images',
  });
}, 120_000);
