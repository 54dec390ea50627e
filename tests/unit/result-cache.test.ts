import { cacheKey, createResultCache } from '../../workers/cache/result-cache';

test('a second identical request is answered from the cache', async () => {
  const cache = createResultCache(1024, 60_000);
  let computed = 0;
  const compute = async () => ({ n: ++computed });
  const a = await cache.remember('alice', 'k', compute, () => 10);
  const b = await cache.remember('alice', 'k', compute, () => 10);
  expect(a).toEqual({ value: { n: 1 }, cached: false });
  expect(b).toEqual({ value: { n: 1 }, cached: true });
  expect(computed).toBe(1);
});

test('identical requests in flight share one computation', async () => {
  const cache = createResultCache(1024, 60_000);
  let computed = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const compute = async () => {
    computed += 1;
    await gate;
    return { v: 'x' };
  };
  const all = Promise.all([
    cache.remember('alice', 'k', compute, () => 1),
    cache.remember('alice', 'k', compute, () => 1),
    cache.remember('alice', 'k', compute, () => 1),
  ]);
  release();
  const results = await all;
  expect(computed).toBe(1);
  expect(results.map((r) => r.cached)).toEqual([false, true, true]);
  expect(cache.stats()).toMatchObject({ misses: 1, shared: 2 });
});

test("one owner's results and in-flight work are never another owner's", async () => {
  const cache = createResultCache(1024, 60_000);
  let computed = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const compute = async () => {
    computed += 1;
    await gate;
    return { n: computed };
  };
  const concurrent = Promise.all([
    cache.remember('alice', 'k', compute, () => 1),
    cache.remember('bob', 'k', compute, () => 1),
  ]);
  release();
  expect((await concurrent).map((r) => r.cached)).toEqual([false, false]);
  expect(computed).toBe(2);
  expect((await cache.remember('bob', 'k', compute, () => 1)).cached).toBe(true);
  expect((await cache.remember('carol', 'k', compute, () => 1)).cached).toBe(false);
});

test('bounded by bytes, expires by TTL, failures are not cached', async () => {
  const cache = createResultCache(100, 50);
  await cache.remember(
    'alice',
    'a',
    async () => ({ a: 1 }),
    () => 60,
  );
  await cache.remember(
    'alice',
    'b',
    async () => ({ b: 1 }),
    () => 60,
  ); // evicts a
  expect(
    (
      await cache.remember(
        'alice',
        'a',
        async () => ({ a: 2 }),
        () => 60,
      )
    ).cached,
  ).toBe(false);
  await new Promise((r) => setTimeout(r, 80));
  expect(
    (
      await cache.remember(
        'alice',
        'a',
        async () => ({ a: 3 }),
        () => 60,
      )
    ).cached,
  ).toBe(false);
  await expect(
    cache.remember(
      'alice',
      'f',
      async () => Promise.reject(new Error('boom')),
      () => 1,
    ),
  ).rejects.toThrow('boom');
  expect(
    (
      await cache.remember(
        'alice',
        'f',
        async () => ({ ok: 1 }),
        () => 1,
      )
    ).cached,
  ).toBe(false);
});

test('keys depend on every part, bytes included', () => {
  expect(cacheKey('m', 1, Buffer.from('a'))).toBe(cacheKey('m', 1, Buffer.from('a')));
  expect(cacheKey('m', 1, Buffer.from('a'))).not.toBe(cacheKey('m', 1, Buffer.from('b')));
  expect(cacheKey('m', '1')).not.toBe(cacheKey('m', 1));
  expect(cacheKey('ab', 'c')).not.toBe(cacheKey('a', 'bc'));
});
