import { startStack, type Stack } from '../helpers/stack';

/**
 * BullMQ needs `maxmemory-policy noeviction`: under memory pressure any other policy lets Redis
 * evict queued jobs. Both roles report a Redis that is set up otherwise when they start.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ redis: { 'maxmemory-policy': 'allkeys-lru' } });
});
afterAll(async () => {
  await stack?.stop();
});

const warnsAboutPolicy = (line: Record<string, unknown>) =>
  line.level === 40 && /maxmemory-policy is "allkeys-lru".*noeviction/.test(String(line.msg));

test('the API and the worker both warn at start about a Redis that may evict jobs', async () => {
  await expect(stack.api.waitForLog(warnsAboutPolicy, 30_000)).resolves.toBeDefined();
  await expect(stack.workers[0].waitForLog(warnsAboutPolicy, 30_000)).resolves.toBeDefined();
});
