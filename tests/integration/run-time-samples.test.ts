import { Redis } from 'ioredis';
import { RunTimeSamples } from '../../src/jobs/queue-estimates';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';

/**
 * A worker folds its measured runs into the averages once a second (RunTimeSamples), not once per
 * job: the averages must come out as if each run had been written on its own, in order.
 */
let redis: TestRedis;
let client: Redis;
beforeAll(async () => {
  redis = await startTestRedis();
  client = new Redis(redis.url);
});
afterAll(async () => {
  client?.disconnect();
  await redis?.stop();
});

const averages = async (prefix: string) => client.hgetall(`${prefix}:stats:run_ms`);
const runs = Array.from({ length: 20 }, (_, i) => ({
  queue: i % 3 ? ('classification' as const) : ('generation' as const),
  model: i % 2 ? 'mobilenetv2-12-int8' : 'omori-sprite-gan',
  ms: 10 + ((i * 37) % 90),
  units: 1 + (i % 4),
}));

test('one write of many runs gives the averages that one write per run gives', async () => {
  const each = new RunTimeSamples();
  for (const r of runs) {
    each.add(r.queue, r.model, r.ms, r.units);
    await each.flush(client, 'one-by-one');
  }
  const together = new RunTimeSamples();
  for (const r of runs) together.add(r.queue, r.model, r.ms, r.units);
  await together.flush(client, 'together');
  const [a, b] = [await averages('one-by-one'), await averages('together')];
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  expect(Object.keys(a).length).toBe(6); // two queues, and each with the models it ran
  for (const field of Object.keys(a)) expect(Number(b[field])).toBeCloseTo(Number(a[field]), 9);
  // Nothing left to write: a second flush changes nothing.
  await together.flush(client, 'together');
  expect(await averages('together')).toEqual(b);
});

test('runs a write could not deliver are kept for the next one', async () => {
  const away = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  const samples = new RunTimeSamples();
  samples.add('classification', 'squeezenet1.1', 40, 1);
  await expect(samples.flush(away, 'kept')).rejects.toThrow();
  samples.add('classification', 'squeezenet1.1', 80, 1);
  await samples.flush(client, 'kept');
  // 40 first, then 80: 40 + 0.2 * (80 - 40).
  expect(Number((await averages('kept'))['classification:squeezenet1.1'])).toBeCloseTo(48, 9);
  away.disconnect();
});

test('at most the newest 32 runs per average wait for a write', async () => {
  const samples = new RunTimeSamples();
  for (let i = 0; i < 100; i++) samples.add('classification', 'm', i < 68 ? 1000 : 10, 1);
  await samples.flush(client, 'capped');
  // Only the 32 runs of 10 ms were kept: the first sets the average, the rest keep it.
  expect(Number((await averages('capped')).classification)).toBeCloseTo(10, 9);
});
