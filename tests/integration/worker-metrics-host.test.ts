import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_MODELS } from '../helpers/paths';
import { freePort, startTestRedis, type TestRedis } from '../helpers/redis-server';
import { runProcess, type ServerProcess } from '../helpers/stack';

/**
 * A worker's own /metrics has no authentication, so it listens on loopback unless
 * WORKER_METRICS_HOST says otherwise (it used to listen on every interface).
 */
let redis: TestRedis;
let dataDir: string;
const started: ServerProcess[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-metrics-'));
});
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  await redis?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** This machine's first address that is not loopback, to knock on from outside loopback. */
const outsideAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

const status = (host: string, port: number) =>
  fetch(`http://${host}:${port}/metrics`).then(
    (r) => r.status,
    () => 'refused',
  );

async function startWorker(env: NodeJS.ProcessEnv) {
  const port = await freePort();
  const worker = runProcess('workers/main.js', {
    REDIS_URL: redis.url,
    DATA_DIR: dataDir,
    MODELS_PATH: path.join(DEMO_MODELS, 'demo-colors'),
    WORKER_METRICS_PORT: String(port),
    ...env,
  });
  started.push(worker);
  const line = await worker.waitForLog((l) => l.msg === 'worker metrics on /metrics', 60_000);
  return { port, line };
}

test('by default the metrics listen on loopback only', async () => {
  const { port, line } = await startWorker({});
  expect(line).toMatchObject({ address: '127.0.0.1', port });
  expect(await status('127.0.0.1', port)).toBe(200);
  // The bound address above is the check everywhere; where the machine has another address, knock on it too.
  if (outsideAddress) expect(await status(outsideAddress, port)).toBe('refused');
});

test('WORKER_METRICS_HOST is honoured', async () => {
  const { port, line } = await startWorker({ WORKER_METRICS_HOST: '0.0.0.0' });
  expect(line).toMatchObject({ address: '0.0.0.0', port });
  if (outsideAddress) expect(await status(outsideAddress, port)).toBe(200);
});
