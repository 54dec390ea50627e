import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DEMO_MODELS } from '../helpers/paths';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';
import { runProcess, waitForExit, type ServerProcess } from '../helpers/stack';

/**
 * A port in use fails the start, in one line that names it. Express 5's `app.listen` callback also
 * runs on 'error', so `npm start` on a busy port used to print "darkroom is running" and start its
 * worker; a busy WORKER_METRICS_PORT was a warning and the worker joined the queues anyway.
 */
let redis: TestRedis;
let busy: net.Server;
let port: number;
let dataDir: string;
const started: ServerProcess[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  port = (busy.address() as net.AddressInfo).port;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-busy-'));
});
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  busy?.close();
  await redis?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const start = (script: string, env: NodeJS.ProcessEnv) => {
  const p = runProcess(script, {
    REDIS_URL: redis.url,
    DATA_DIR: dataDir,
    MODELS_PATH: path.join(DEMO_MODELS, 'demo-colors'),
    HOST: '127.0.0.1',
    PORT: '0',
    ...env,
  });
  started.push(p);
  return p;
};

/** The lines that say why it stopped: one, naming the address, no stack trace. */
function expectOneClearLine(output: string, variable: string) {
  const lines = output.split('\n').filter((l) => l.includes(`127.0.0.1:${port}`));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain('already in use');
  expect(lines[0]).toContain(variable);
  expect(output).not.toMatch(/^\s+at /m);
}

test('npm start on a busy API port exits non-zero, says so in one line, and never claims to run', async () => {
  const main = start('src/main.js', { PORT: String(port) });
  const code = await waitForExit(main, 30_000);
  expect(code).not.toBe(0);
  expectOneClearLine(main.output(), 'PORT');
  expect(main.output()).not.toContain('darkroom is running');
  expect(main.output()).not.toContain('worker ready');
});

test('a worker whose metrics port is busy exits non-zero before it takes any job', async () => {
  const worker = start('workers/main.js', { WORKER_METRICS_PORT: String(port) });
  const code = await waitForExit(worker, 30_000);
  expect(code).not.toBe(0);
  expectOneClearLine(worker.output(), 'WORKER_METRICS_PORT');
  expect(worker.output()).not.toContain('worker ready');
});

test('npm start stops, rather than restarting its worker forever, when the worker cannot listen', async () => {
  const main = start('src/main.js', { WORKER_METRICS_PORT: String(port) });
  const code = await waitForExit(main, 30_000);
  expect(code).not.toBe(0);
  expectOneClearLine(main.output(), 'WORKER_METRICS_PORT');
});
