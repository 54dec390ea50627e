import { randomBytes } from 'node:crypto';
import { runProcess, startStack, waitForExit, type Stack } from '../helpers/stack';

/**
 * Credentials never reach a log line: pino-http logs every request with its headers, so the API
 * key, the admin's Basic credentials and cookies must be censored; a bad secret in the environment
 * is named at start, never shown.
 */
const secret = (what: string) => `${what}-${randomBytes(12).toString('hex')}`;
const API_KEY = secret('api-key');
const WRONG_KEY = secret('mistyped-key');
const ADMIN_PASSWORD = secret('admin-password');
const COOKIE = secret('session');
const PROXY_PASSWORD = secret('proxy-password');
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ noWorkers: true, env: { API_KEYS: `tester:${API_KEY}`, ADMIN_PASSWORD } });
});
afterAll(async () => {
  await stack?.stop();
});

test('requests carrying credentials are logged with the credentials censored', async () => {
  const asked = [
    fetch(`${stack.url}/v1/models`, { headers: { authorization: `Bearer ${API_KEY}`, cookie: `sid=${COOKIE}` } }),
    fetch(`${stack.url}/v1/models`, { headers: { authorization: `Bearer ${WRONG_KEY}`, 'x-api-key': API_KEY } }),
    fetch(`${stack.url}/v1/generations`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${API_KEY}`,
        'content-type': 'application/json',
        'proxy-authorization': basic('proxy', PROXY_PASSWORD),
      },
      body: JSON.stringify({ model: 'demo-cppn', n: 1 }),
    }),
    fetch(`${stack.url}/admin/queues`, { headers: { authorization: basic('admin', ADMIN_PASSWORD), cookie: COOKIE } }),
  ];
  const statuses = await Promise.all(asked.map((r) => r.then(async (res) => (await res.arrayBuffer(), res.status))));
  expect(statuses).toEqual([200, 401, 202, 200]);
  // Each request's line is written when its response ends; wait for all of them.
  for (const url of ['/v1/models', '/v1/generations', '/admin/queues']) {
    await stack.api.waitForLog((l) => l.msg === 'request completed' && (l.req as { url?: string })?.url === url, 5000);
  }

  const output = stack.api.output();
  // The lines are there, and censored, so this cannot pass by logging nothing.
  expect(output).toContain('"authorization":"[redacted]"');
  expect(output).toContain('"cookie":"[redacted]"');
  expect(output).toContain('"x-api-key":"[redacted]"');
  expect(output).toContain('"proxy-authorization":"[redacted]"');
  const leaked = [
    API_KEY,
    WRONG_KEY,
    ADMIN_PASSWORD,
    COOKIE,
    PROXY_PASSWORD,
    basic('admin', ADMIN_PASSWORD).slice(6),
    basic('proxy', PROXY_PASSWORD).slice(6),
  ].filter((s) => output.includes(s));
  expect(leaked).toEqual([]);
});

test('bad secrets in the environment are named at start, their values never shown', async () => {
  const redisPassword = secret('redis-password');
  const bad = {
    ADMIN_PASSWORD: 'hunter2', // too short
    WEBHOOK_SECRET: secret('short').slice(0, 15), // too short
    REDIS_URL: `http://:${redisPassword}@redis.internal:6379`, // not redis://
    S3_SECRET_ACCESS_KEY: secret('s3-secret'), // without S3_ACCESS_KEY_ID
  };
  const api = runProcess('src/api-main.js', { ...stack.env, ...bad });
  const code = await waitForExit(api, 30_000);
  const output = api.output();
  expect(code).not.toBe(0);
  for (const variable of ['ADMIN_PASSWORD', 'WEBHOOK_SECRET', 'REDIS_URL', 'S3_ACCESS_KEY_ID'])
    expect(output).toContain(variable);
  expect(output).toContain('redis.internal'); // the bad URL is shown, its password masked
  const leaked = [bad.ADMIN_PASSWORD, bad.WEBHOOK_SECRET, redisPassword, bad.S3_SECRET_ACCESS_KEY].filter((s) =>
    output.includes(s),
  );
  expect(leaked).toEqual([]);
});
