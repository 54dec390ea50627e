import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import fs from 'node:fs';
import {
  blockingConnectionStatus,
  newestEventId,
  oldestEventId,
  placeInLine,
  readEvents,
  readJobFields,
  readRunningIds,
  waitingCount,
  wakeIdleWorkers,
} from '../../src/jobs/bullmq-internals';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';

/**
 * src/jobs/bullmq-internals.ts reads BullMQ's private Redis layout. Each test here checks one of its
 * assumptions against the installed BullMQ with a real Queue and Worker, and says which version
 * broke it, so an upgrade that changes the layout fails here rather than as wrong ETAs, a watchdog
 * that never fires, or handed-back jobs that wait 5 s.
 */
const BULLMQ_VERSION = (
  JSON.parse(fs.readFileSync(require.resolve('bullmq/package.json'), 'utf8')) as { version: string }
).version;

/** Fails with the assumption and the BullMQ version when `ok` is false. */
function pin(ok: boolean, assumption: string, seen: unknown): void {
  if (!ok)
    throw new Error(
      `BullMQ ${BULLMQ_VERSION} breaks an assumption of src/jobs/bullmq-internals.ts: ${assumption} (saw ${JSON.stringify(seen)})`,
    );
}

const PREFIX = 'pin';
let server: TestRedis;
let redis: Redis;
let n = 0;
const open: (Queue | Worker)[] = [];
// BullMQ does not close connections it was given: the tests close them.
const connections: Redis[] = [];

beforeAll(async () => {
  server = await startTestRedis();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((q) => q.close()));
  for (const c of connections.splice(0)) c.disconnect();
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

const connection = () => {
  const c = new Redis(server.url, { maxRetriesPerRequest: null });
  connections.push(c);
  return c;
};
function newQueue(): Queue {
  const queue = new Queue(`q${++n}`, { connection: connection(), prefix: PREFIX });
  open.push(queue);
  return queue;
}
function newWorker(queue: Queue, processor: (job: Job, token?: string) => Promise<unknown>, concurrency = 1): Worker {
  const worker = new Worker(queue.name, processor, { connection: connection(), prefix: PREFIX, concurrency });
  open.push(worker);
  return worker;
}
const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('plain jobs wait in the `wait` list, oldest at the tail, and LPOS finds their place', async () => {
  const queue = newQueue();
  const ids = [];
  for (const name of ['a', 'b', 'c']) ids.push(String((await queue.add(name, {})).id));
  pin((await redis.type(queue.keys.wait)) === 'list', '`keys.wait` is a list', await redis.type(queue.keys.wait));
  pin(
    (await queue.getJobState(ids[0])) === 'waiting',
    'a plain job is in state "waiting"',
    await queue.getJobState(ids[0]),
  );
  const places = await Promise.all(ids.map((id) => placeInLine(redis, queue, id, 'waiting')));
  pin(places.join() === '0,1,2', 'LPOS from the tail of `wait` gives the oldest job place 0', places);
  pin(
    (await waitingCount(redis, queue)) === 3,
    'waiting jobs are counted from `wait`',
    await waitingCount(redis, queue),
  );
});

test('prioritized jobs wait in the `prioritized` sorted set, after plain ones, by priority', async () => {
  const queue = newQueue();
  const low = String((await queue.add('low', {}, { priority: 5 })).id);
  const high = String((await queue.add('high', {}, { priority: 1 })).id);
  const plain = String((await queue.add('plain', {})).id);
  pin(
    (await redis.type(queue.keys.prioritized)) === 'zset',
    '`keys.prioritized` is a sorted set',
    await redis.type(queue.keys.prioritized),
  );
  pin(
    (await queue.getJobState(high)) === 'prioritized',
    'a job with a priority is in state "prioritized"',
    await queue.getJobState(high),
  );
  const places = [
    await placeInLine(redis, queue, plain, 'waiting'),
    await placeInLine(redis, queue, high, 'prioritized'),
    await placeInLine(redis, queue, low, 'prioritized'),
  ];
  pin(places.join() === '0,1,2', 'ZRANK in `prioritized` after the `wait` list gives the place', places);
  pin(
    (await waitingCount(redis, queue)) === 3,
    'waiting jobs are `wait` plus `prioritized`',
    await waitingCount(redis, queue),
  );
  pin(
    (await redis.type(queue.keys.marker)) === 'zset',
    'adding a job leaves a `marker` sorted set',
    await redis.type(queue.keys.marker),
  );

  const order: string[] = [];
  newWorker(queue, async (job) => void order.push(job.name));
  await until('the three jobs to run', () => order.length === 3);
  pin(order.join() === 'plain,high,low', 'a worker takes the places placeInLine gives, in that order', order);
});

test('a running job is in the `active` list, its hash has progress, processedOn and data, and the event stream has its events', async () => {
  const queue = newQueue();
  let finish!: () => void;
  const running = new Promise<void>((resolve) => (finish = resolve));
  let started = false;
  newWorker(queue, async (job) => {
    await job.updateProgress({ value: 0.5 });
    started = true;
    await running;
    return 'done';
  });
  const before = await newestEventId(redis, queue);
  const id = String((await queue.add('x', { hello: 'world' })).id);
  await until('the job to start', () => started);

  const [[, active], [, fields]] = ((await readJobFields(readRunningIds(redis.multi(), queue, 10), queue, id).exec()) ??
    []) as [unknown, unknown][];
  pin(Array.isArray(active) && active.includes(id), 'a running job is in the `active` list', active);
  const [progress, processedOn, data] = fields as (string | null)[];
  pin(JSON.parse(progress ?? 'null')?.value === 0.5, 'the job hash has `progress` as JSON', progress);
  pin(Number(processedOn) > 0, 'the job hash has `processedOn` in epoch ms', processedOn);
  pin(JSON.parse(data ?? 'null')?.hello === 'world', 'the job hash has `data` as JSON', data);
  finish();
  await until('the job to complete', async () => (await queue.getJobState(id)) === 'completed');

  const all = await readEvents(redis, queue, '0-0', 100);
  const events = all.filter((e) => e.fields.jobId === id);
  const names = events.map((e) => e.fields.event);
  for (const name of ['waiting', 'active', 'progress', 'completed'])
    pin(names.includes(name), `the event stream has a "${name}" entry with \`event\` and \`jobId\` fields`, names);
  const progressEvent = events.find((e) => e.fields.event === 'progress');
  pin(
    JSON.parse(progressEvent?.fields.data ?? 'null')?.value === 0.5,
    'a "progress" entry carries the progress as JSON in `data`',
    progressEvent,
  );
  const newest = await newestEventId(redis, queue);
  pin(newest !== before && newest === all[all.length - 1]?.id, 'newestEventId is the id of the stream’s last entry', {
    before,
    newest,
    last: all[all.length - 1]?.id,
  });
  pin((await oldestEventId(redis, queue)) === all[0]?.id, 'oldestEventId is the id of the stream’s first entry', {
    oldest: await oldestEventId(redis, queue),
    first: all[0]?.id,
  });
});

test('a failed job’s stream entry carries `failedReason`', async () => {
  const queue = newQueue();
  newWorker(queue, async () => {
    throw new Error('boom');
  });
  const id = String((await queue.add('x', {})).id);
  await until('the job to fail', async () => (await queue.getJobState(id)) === 'failed');
  const failed = (await readEvents(redis, queue, '0-0', 100)).find(
    (e) => e.fields.jobId === id && e.fields.event === 'failed',
  );
  pin(failed?.fields.failedReason === 'boom', 'a "failed" entry has `failedReason`', failed);
});

test('a worker’s blocking client is a ready ioredis connection', async () => {
  const queue = newQueue();
  const worker = newWorker(queue, async () => undefined);
  await worker.waitUntilReady();
  const client = await worker.getBackend().blockingClient;
  pin(
    client !== undefined &&
      typeof client.status === 'string' &&
      typeof (client as unknown as Redis).bzpopmin === 'function',
    'getBackend().blockingClient resolves to an ioredis client with `status`',
    client && { status: client.status },
  );
  await until(
    'the blocking connection to be ready',
    async () => (await blockingConnectionStatus(worker)) === 'ready',
  ).catch(async () =>
    pin(false, 'a running worker’s blocking connection reaches status "ready"', await blockingConnectionStatus(worker)),
  );
  const blocked = async () => String(await redis.client('LIST')).includes('cmd=bzpopmin');
  await until('the worker to block', blocked, 5000).catch(async () =>
    pin(false, 'an idle worker blocks in BZPOPMIN (on the marker)', String(await redis.client('LIST'))),
  );
});

test('a job moved back to waiting is taken at once by an idle worker once wakeIdleWorkers adds the marker', async () => {
  const queue = newQueue();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let taken: { job: Job; token: string } | undefined;
  const first = newWorker(queue, async (job, token) => {
    taken = { job, token: token ?? '' };
    await held;
  });
  first.on('error', () => undefined); // its late completion of a job it gave up is refused
  const id = String((await queue.add('x', {}, { priority: 1 })).id);
  await until('the first worker to take the job', () => taken !== undefined);
  let takenAgainAt = 0;
  const second = newWorker(queue, async () => void (takenAgainAt = Date.now()));
  await second.waitUntilReady();
  await new Promise((r) => setTimeout(r, 300)); // idle, blocked on the marker
  const handedBackAt = Date.now();
  await taken!.job.moveToWait(taken!.token);
  await wakeIdleWorkers(redis, queue);
  await until('the job to be taken again', () => takenAgainAt > 0, 10_000);
  release();
  pin(
    takenAgainAt - handedBackAt < 2000,
    'an idle worker wakes for a handed-back job within 2 s (its block timeout is 5 s)',
    { ms: takenAgainAt - handedBackAt, id },
  );
});
