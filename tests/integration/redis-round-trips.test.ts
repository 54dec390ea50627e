import fs from 'node:fs';
import { Redis } from 'ioredis';
import { requestJson, postJson } from '../helpers/api-client';
import { requireShared } from '../helpers/paths';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';
import { startStackOn, type Stack } from '../helpers/stack';

/**
 * Redis commands per job, counted with MONITOR on a private redis-server that the API and one
 * worker (real processes) are the only clients of. Each kind of job is submitted N times, one at
 * a time; a job counts from its submission to one GET of its view after it succeeded. Idle traffic
 * (the worker's polls, heartbeats, metrics) is measured over the same time with no job and taken
 * off. Commands are told apart by the name of the connection that sent them (CLIENT LIST):
 * darkroom's API connections versus everything else (the worker's). Round trips are the batches of
 * a connection's commands that Redis read together: consecutive commands of one connection with no
 * gap between them (a pipeline, a MULTI/EXEC), as MONITOR shows them; Lua's own calls are not
 * counted. The table is printed; the test fails when a change adds commands to a job's path.
 */
const N = 20;
/**
 * Commands per job now (docs/scaling.md, "Redis commands per job"; the mean of four runs), plus
 * 30%: classification 18.3, generation (n=16) 24.9, diffusion 33.2. Before the round-trip work
 * they were 29.0, 34.4 and 51.5 (one run); after it 20.7, 26.4 and 35.7, before a job of one unit
 * stopped writing progress and run times went out once a second.
 */
const LIMITS: Record<string, number> = { classification: 24, generation: 32, diffusion: 43 };

interface Line {
  t: number;
  cmd: string;
  source: string;
}
interface Count {
  api: Map<string, number>;
  worker: Map<string, number>;
  apiTrips: number;
  workerTrips: number;
  ms: number;
}

let redis: TestRedis;
let stack: Stack;
let monitor: Redis;
let monitorClient: Redis;
let probe: Redis;
let lines: Line[] = [];
const names = new Map<string, string>();

beforeAll(async () => {
  redis = await startTestRedis();
  // MONITOR starts before any other client: ioredis mistakes a line that arrives while its
  // monitor connection is still being set up for a reply (a "Command queue state error").
  probe = new Redis(redis.url, { connectionName: 'round-trip-probe' });
  await probe.ping();
  // The client MONITOR is duplicated from is ready (its INFO sent) first: ioredis enters monitoring
  // mode a microtask after MONITOR's "OK", so a line read in the same chunk as that OK (as that
  // INFO was once) would be taken for a reply.
  monitorClient = new Redis(redis.url, { connectionName: 'round-trip-monitor' });
  await monitorClient.ping();
  monitor = await monitorClient.monitor();
  monitor.on('monitor', (time: string, args: string[], source: string) =>
    lines.push({ t: Number(time), cmd: String(args[0]).toLowerCase(), source }),
  );
  await new Promise((r) => setTimeout(r, 200));
  // Long lock and stall intervals: less idle traffic to take off, same work per job.
  stack = {
    redis,
    ...(await startStackOn(
      { env: { REDIS_URL: redis.url }, stop: () => redis.stop() },
      { env: { LOCK_DURATION_MS: '30000', STALLED_INTERVAL_MS: '30000' } },
    )),
  };
});
afterAll(async () => {
  monitor?.disconnect();
  monitorClient?.disconnect();
  probe?.disconnect();
  if (stack) await stack.stop();
  else await redis?.stop();
});

async function refreshNames(): Promise<void> {
  const list = String(await probe.client('LIST'));
  for (const row of list.split('\n')) {
    const addr = /\baddr=(\S+)/.exec(row)?.[1];
    const name = /\bname=(\S*)/.exec(row)?.[1] ?? '';
    if (addr) names.set(addr, name);
  }
}

const sideOf = (source: string): 'api' | 'worker' | 'ignore' => {
  const name = names.get(source) ?? '';
  if (name.startsWith('round-trip-')) return 'ignore';
  return name === 'darkroom-api' ? 'api' : 'worker';
};

/** Commands and round trips per side in `batch`, which MONITOR saw in `ms`. */
function count(batch: Line[], ms: number): Count {
  const c: Count = { api: new Map(), worker: new Map(), apiTrips: 0, workerTrips: 0, ms };
  let prevClient: Line | undefined;
  let prevT = 0;
  for (const line of batch) {
    const gap = line.t - prevT;
    prevT = line.t;
    if (line.source === 'lua') continue;
    const side = sideOf(line.source);
    if (side === 'ignore') continue;
    const cmds = c[side];
    cmds.set(line.cmd, (cmds.get(line.cmd) ?? 0) + 1);
    // A new round trip unless the same connection's previous command came right before it.
    if (prevClient?.source !== line.source || gap > 0.00005) c[side === 'api' ? 'apiTrips' : 'workerTrips'] += 1;
    prevClient = line;
  }
  return c;
}

async function measure(work: () => Promise<void>): Promise<Count> {
  await new Promise((r) => setTimeout(r, 300));
  lines = [];
  const started = Date.now();
  await work();
  await new Promise((r) => setTimeout(r, 300));
  const ms = Date.now() - started;
  await refreshNames();
  return count(lines, ms);
}

async function waitForSuccess(id: string): Promise<void> {
  const worker = stack.workers[0];
  await worker.waitForLog((l) => l.msg === 'job succeeded' && l.jobId === id, 120_000);
  const view = await requestJson(`${stack.url}/v1/jobs/${id}`);
  expect(view.body).toMatchObject({ status: 'succeeded', progress: 1 });
}

const PHOTO = fs.readFileSync(requireShared('images/goldfish.jpg'));
const KINDS: Record<string, () => Promise<string>> = {
  classification: async () => {
    const form = new FormData();
    form.set('model', 'mobilenetv2-12-int8');
    form.append('image', new Blob([PHOTO]), 'goldfish.jpg');
    const res = await requestJson(`${stack.url}/v1/classifications`, { method: 'POST', body: form });
    expect(res.status).toBe(202);
    return res.body.id;
  },
  generation: async () => {
    const res = await postJson(`${stack.url}/v1/generations`, { model: 'omori-sprite-gan', n: 16 });
    expect(res.status).toBe(202);
    return res.body.id;
  },
  diffusion: async () => {
    const res = await postJson(`${stack.url}/v1/generations`, { model: 'demo-diffusion', prompt: 'a red boat' });
    expect(res.status).toBe(202);
    return res.body.id;
  },
};

const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
const perJob = (job: number, idle: number, idleMs: number, ms: number) => Math.max(0, (job - (idle * ms) / idleMs) / N);
const top = (job: Map<string, number>, idle: Map<string, number>, idleMs: number, ms: number) =>
  [...job.entries()]
    .map(([cmd, n]): [string, number] => [cmd, perJob(n, idle.get(cmd) ?? 0, idleMs, ms)])
    .filter(([, n]) => n >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([cmd, n]) => `${cmd} ${n.toFixed(1)}`)
    .join(', ');

const results: string[] = [];
afterAll(() => {
  if (results.length) console.log(`Redis commands per job (N=${N}, idle traffic taken off)\n${results.join('\n')}`);
});

test.each(Object.keys(KINDS))(
  '%s: Redis commands per job stay within the bound',
  async (kind) => {
    // A first job loads the model and warms caches; it is not counted.
    await waitForSuccess(await KINDS[kind]());
    const jobs = await measure(async () => {
      for (let i = 0; i < N; i++) await waitForSuccess(await KINDS[kind]());
    });
    const idle = await measure(() => new Promise((r) => setTimeout(r, Math.min(jobs.ms, 15_000))));
    const api = perJob(total(jobs.api), total(idle.api), idle.ms, jobs.ms);
    const worker = perJob(total(jobs.worker), total(idle.worker), idle.ms, jobs.ms);
    const apiTrips = perJob(jobs.apiTrips, idle.apiTrips, idle.ms, jobs.ms);
    const workerTrips = perJob(jobs.workerTrips, idle.workerTrips, idle.ms, jobs.ms);
    results.push(
      `${kind.padEnd(15)} total ${(api + worker).toFixed(1).padStart(6)} | api ${api.toFixed(1)} (${apiTrips.toFixed(1)} trips) | ` +
        `worker ${worker.toFixed(1)} (${workerTrips.toFixed(1)} trips) | ${(jobs.ms / N).toFixed(0)} ms/job\n` +
        `    api:    ${top(jobs.api, idle.api, idle.ms, jobs.ms)}\n    worker: ${top(jobs.worker, idle.worker, idle.ms, jobs.ms)}`,
    );
    expect(api + worker).toBeLessThanOrEqual(LIMITS[kind]);
  },
  600_000,
);
