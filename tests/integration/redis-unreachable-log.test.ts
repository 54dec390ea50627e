import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { postJson, requestJson } from '../helpers/api-client';
import { DEMO_MODELS } from '../helpers/paths';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';
import { runProcess, type ServerProcess } from '../helpers/stack';

/**
 * With Redis unreachable, API and worker used to log a stack trace per failed attempt of every
 * connection (1,894 lines in 23 s). Now each process logs one line per retry interval, naming the
 * address (password masked), the error and the next retry, backing off; the API keeps answering 503.
 */
const PASSWORD = 'redis-password-that-must-not-be-logged';
const OUTAGE_MS = 10_000;
let redis: TestRedis;
let dataDir: string;
const started: ServerProcess[] = [];

beforeAll(async () => {
  redis = await startTestRedis({ requirepass: PASSWORD });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-outage-'));
});
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  await redis?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const lines = (p: ServerProcess) => p.output().split('\n').filter(Boolean);
const parsed = (p: ServerProcess) =>
  lines(p).flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as Record<string, any>] : []));

test('an unreachable Redis is one line per retry interval per process, and the API still answers 503', async () => {
  const address = `redis://:***@127.0.0.1:${redis.port}`;
  redis.process.kill('SIGKILL'); // nothing listens on its port now
  const env = {
    REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${redis.port}`,
    DATA_DIR: dataDir,
    MODELS_PATH: path.join(DEMO_MODELS, 'demo-colors'),
    PORT: '0',
    ADMIN_PASSWORD: 'admin-password',
  };
  const api = runProcess('src/api-main.js', env);
  const worker = runProcess('workers/main.js', env);
  started.push(api, worker);
  const listening = await api.waitForLog((l) => l.msg === 'darkroom API listening');
  const url = String(listening.url);
  await new Promise((r) => setTimeout(r, OUTAGE_MS));

  const ready = await requestJson(`${url}/readyz`);
  expect(ready.status).toBe(503);
  const post = await postJson(`${url}/v1/generations`, { model: 'demo-colors' });
  expect(post.status).toBe(503);
  expect(post.body.error.code).toBe('redis_unavailable');
  expect(post.headers.get('retry-after')).toBeTruthy();

  for (const [name, p] of [
    ['api', api],
    ['worker', worker],
  ] as const) {
    const output = p.output();
    const outage = parsed(p).filter((l) => String(l.msg).startsWith('redis unreachable'));
    process.stdout.write(
      `${name}: ${lines(p).length} lines in all, ${outage.length} about the outage in about ${OUTAGE_MS / 1000} s\n`,
    );
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toMatch(/^\s+at /m); // no stack traces
    expect(lines(p).filter((l) => !l.startsWith('{'))).toEqual([]); // nothing printed around the logger
    // Backoff: 200 ms doubling to 5 s, and never more than one line a second.
    expect(outage.length).toBeGreaterThanOrEqual(2);
    expect(outage.length).toBeLessThanOrEqual(OUTAGE_MS / 1000 + 1);
    expect(lines(p).length).toBeLessThan(30);
    for (const line of outage) {
      expect(line).toMatchObject({ level: 40, redis: address, err: expect.stringContaining('ECONNREFUSED') });
      expect(line.retry_in_ms).toBeGreaterThan(0);
      expect(line.msg).toContain(`${address} (`);
      expect(line.msg).toContain(`next retry in ${line.retry_in_ms} ms`);
    }
    const delays = outage.map((l) => Number(l.retry_in_ms));
    expect(delays[delays.length - 1]).toBeGreaterThan(delays[0]);
  }

  // Both recover by themselves once Redis is back, and say so once.
  await redis.restart();
  await api.waitForLog((l) => String(l.msg).startsWith('redis reachable again'), 15_000);
  await worker.waitForLog((l) => l.msg === 'worker ready', 15_000);
  for (let i = 0; i < 100 && (await requestJson(`${url}/readyz`)).status !== 200; i++)
    await new Promise((r) => setTimeout(r, 100));
  expect((await requestJson(`${url}/readyz`)).status).toBe(200);
});
