import type { Redis } from 'ioredis';
import { AppError } from '../../src/errors';
import { admitJobs, releaseJob, trackJobs, type AdmissionPolicy } from '../../src/jobs/job-admission';
import type { JobQueues } from '../../src/jobs/job-queues';

/** The few Redis commands admission uses, over in-memory sets (and keys with a TTL we do not age). */
function fakeRedis() {
  const sets = new Map<string, Set<string>>();
  const strings = new Set<string>();
  const set = (key: string) => sets.get(key) ?? sets.set(key, new Set()).get(key)!;
  const redis = {
    scard: async (key: string) => set(key).size,
    smembers: async (key: string) => [...set(key)],
    sadd: async (key: string, ...ids: string[]) => ids.forEach((id) => set(key).add(id)),
    srem: async (key: string, ...ids: string[]) => ids.forEach((id) => set(key).delete(id)),
    // SET key 1 EX s NX: OK the first time, null while the key lives.
    set: async (key: string) => (strings.has(key) ? null : (strings.add(key), 'OK')),
  };
  return { redis: redis as unknown as Redis, sets, expirePruneMarks: () => strings.clear() };
}

/** Queues whose jobs are in the given states, and whose queue holds `depth` waiting jobs. */
function fakeQueues(states: Record<string, string>, depth = 0): JobQueues {
  return {
    getJob: async (id: string) => (id in states ? { getState: async () => states[id] } : undefined),
    // Any queue by name (a job type's, or a model's: `generation@demo-cppn`).
    queue: () => ({ getJobCounts: async () => ({ waiting: depth, prioritized: 0, delayed: 0 }) }),
  } as unknown as JobQueues;
}

const policy: AdmissionPolicy = { prefix: 'dr', maxInFlightPerKey: 3, maxQueueDepth: 10 };

/** The AppError a refused admission throws, as the client sees it. */
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (err: AppError) => ({ status: err.status, code: err.code, headers: err.headers }),
  );

test('a key with nothing in flight gets priority 1; each job it already has in flight pushes its next one back by 1', async () => {
  const { redis } = fakeRedis();
  const queues = fakeQueues({});
  expect(await admitJobs(redis, queues, policy, 'alice', 'generation', 1)).toBe(1);
  await trackJobs(redis, 'dr', 'alice', ['a1', 'a2']);
  expect(await admitJobs(redis, queues, policy, 'alice', 'generation', 1)).toBe(3);
  // Another key's first job still goes first.
  expect(await admitJobs(redis, queues, policy, 'bob', 'generation', 1)).toBe(1);
});

test('more jobs in flight than the key may have is 429 too_many_jobs_in_flight with Retry-After: 10', async () => {
  const { redis } = fakeRedis();
  const queues = fakeQueues({ a1: 'active', a2: 'waiting', a3: 'prioritized' });
  await trackJobs(redis, 'dr', 'alice', ['a1', 'a2']);
  expect(await admitJobs(redis, queues, policy, 'alice', 'generation', 1)).toBe(3);
  await trackJobs(redis, 'dr', 'alice', ['a3']);
  expect(await refusal(admitJobs(redis, queues, policy, 'alice', 'generation', 1))).toEqual({
    status: 429,
    code: 'too_many_jobs_in_flight',
    headers: { 'Retry-After': '10' },
  });
  // A batch is admitted whole or not at all.
  expect(await refusal(admitJobs(redis, queues, policy, 'bob', 'generation', 4))).toMatchObject({ status: 429 });
});

test('ended, failed and expired jobs are pruned from the in-flight set when the quota looks full', async () => {
  const { redis, sets } = fakeRedis();
  // a2 finished, a3 failed, a4 expired (gone from Redis) without the worker's release reaching the set.
  await trackJobs(redis, 'dr', 'alice', ['a1', 'a2', 'a3', 'a4']);
  expect(
    await admitJobs(
      redis,
      fakeQueues({ a1: 'active', a2: 'completed', a3: 'failed' }),
      policy,
      'alice',
      'generation',
      1,
    ),
  ).toBe(2);
  expect([...sets.get('dr:inflight:alice')!]).toEqual(['a1']);
});

test('pruning runs at most once per interval per key: a refused client cannot make every request look up every job', async () => {
  const { redis, expirePruneMarks } = fakeRedis();
  const states: Record<string, string> = { a1: 'active', a2: 'active', a3: 'active' };
  await trackJobs(redis, 'dr', 'alice', ['a1', 'a2', 'a3']);
  expect(await refusal(admitJobs(redis, fakeQueues(states), policy, 'alice', 'generation', 1))).toMatchObject({
    status: 429,
  });
  states.a1 = 'completed';
  // Within the interval the set is not looked at again, so the ended job still counts...
  expect(await refusal(admitJobs(redis, fakeQueues(states), policy, 'alice', 'generation', 1))).toMatchObject({
    status: 429,
  });
  // ...and once the interval's mark has expired it is pruned.
  expirePruneMarks();
  expect(await admitJobs(redis, fakeQueues(states), policy, 'alice', 'generation', 1)).toBe(3);
});

test('a queue holding MAX_QUEUE_DEPTH jobs refuses more with 503 queue_full and Retry-After: 30', async () => {
  const { redis } = fakeRedis();
  expect(await admitJobs(redis, fakeQueues({}, 9), policy, 'alice', 'generation', 1)).toBe(1);
  expect(await refusal(admitJobs(redis, fakeQueues({}, 9), policy, 'alice', 'generation', 2))).toEqual({
    status: 503,
    code: 'queue_full',
    headers: { 'Retry-After': '30' },
  });
});

test('a worker releasing an ended job frees its slot at once', async () => {
  const { redis } = fakeRedis();
  const queues = fakeQueues({ a1: 'active', a2: 'active', a3: 'active' });
  await trackJobs(redis, 'dr', 'alice', ['a1', 'a2', 'a3']);
  await releaseJob(redis, 'dr', 'alice', 'a2');
  expect(await admitJobs(redis, queues, policy, 'alice', 'generation', 1)).toBe(3);
});
