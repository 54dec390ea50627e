import { Redis } from 'ioredis';
import { postJson, waitForJob } from '../helpers/api-client';
import { DEMO_MODELS } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';

/**
 * The watchdog on a real worker process: the generation queue's blocking connection is cut and
 * Redis refuses new connections (maxclients), so that connection cannot come back while the
 * worker's other connections stay ready. The watchdog must notice within WORKER_WATCHDOG_MS and
 * replace that queue's BullMQ worker inside the same process, which serves once Redis lets it in.
 */
let stack: Stack;
let redis: Redis;
beforeAll(async () => {
  stack = await startStack({ env: { MODELS_PATH: DEMO_MODELS, WORKER_WATCHDOG_MS: '3000' } });
  redis = new Redis(stack.redis.url);
});
afterAll(async () => {
  await redis?.config('SET', 'maxclients', '10000').catch(() => undefined);
  redis?.disconnect();
  await stack?.stop();
});

test('a queue worker whose blocking connection stays down is recreated in the same process', async () => {
  const [worker] = stack.workers;
  const pid = worker.child.pid;
  // BullMQ names a worker's blocking connection <prefix>:<base64 queue name>:w:<worker name>. It is
  // cut once it blocks in BZPOPMIN: cut while still being set up (right after the worker's start),
  // it has no status the watchdog can read yet, so no verdict comes while Redis refuses it.
  const name = `name=darkroom:${Buffer.from('generation').toString('base64')}:w:`;
  let clients: string[] = [];
  let blocking: string | undefined;
  for (const deadline = Date.now() + 30_000; !blocking && Date.now() < deadline;) {
    clients = String(await redis.client('LIST'))
      .trim()
      .split('\n');
    blocking = clients.find((c) => c.includes(name) && / cmd=bzpopmin /.test(c));
    if (!blocking) await new Promise((r) => setTimeout(r, 50));
  }
  expect(blocking).toBeDefined();
  const id = /(?:^| )id=(\d+)/.exec(blocking!)![1];
  await redis.config('SET', 'maxclients', String(clients.length - 1));
  await redis.client('KILL', 'ID', id);
  let waiting: string;
  try {
    const res = await postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn', n: 1 });
    expect(res.status).toBe(202);
    waiting = res.body.id;
    const verdict = await worker.waitForLog((l) => l.msg === 'queue worker is stuck; recreating it', 60_000);
    expect(verdict).toMatchObject({ queue: 'generation' });
    expect(String(verdict.reason)).toMatch(/blocking connection/);
    process.stdout.write(`watchdog: ${verdict.reason} for ${verdict.stuck_ms} ms\n`);
  } finally {
    await redis.config('SET', 'maxclients', '10000');
  }
  // The job that waited through it, and a new one, both run.
  expect((await waitForJob(stack.url, waiting, 60_000)).status).toBe('succeeded');
  const res = await postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn', n: 2 });
  expect((await waitForJob(stack.url, res.body.id, 60_000)).status).toBe('succeeded');
  expect(worker.child.pid).toBe(pid);
  expect(worker.child.exitCode).toBeNull();
});
