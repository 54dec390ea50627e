import { createLogger } from '../../src/logger';
import { createQueueWatchdog, type WatchedWorker } from '../../workers/queue-watchdog';

/** A fake BullMQ worker the test steers, and a fake clock: the watchdog's verdicts are pure logic. */
function setup() {
  let now = 1_000_000;
  const state = {
    running: true,
    blocking: 'ready' as string | undefined,
    held: 0,
    lastTakenAt: 0,
    waiting: 0,
    redisReady: true,
  };
  const worker: WatchedWorker = {
    queue: 'generation',
    isRunning: () => state.running,
    blockingStatus: async () => state.blocking,
    held: () => state.held,
    concurrency: 2,
    lastTakenAt: () => state.lastTakenAt,
  };
  const recreated: string[] = [];
  const watchdog = createQueueWatchdog({
    stuckAfterMs: 10_000,
    intervalMs: 1000,
    workers: () => [worker],
    redisReady: () => state.redisReady,
    waiting: async () => state.waiting,
    recreate: async (_queue, reason) => void recreated.push(reason),
    logger: createLogger('silent', 'test'),
    now: () => now,
  });
  /** Checks once a second for `ms`. */
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 1000) {
      await watchdog.check();
      now += 1000;
    }
  };
  return { state, recreated, run, take: () => (state.lastTakenAt = now) };
}

test('an idle worker with jobs waiting is recreated after the stuck period, not before', async () => {
  const { state, recreated, run } = setup();
  state.waiting = 3;
  await run(9000);
  expect(recreated).toEqual([]);
  await run(3000);
  expect(recreated).toEqual(['3 job(s) wait but it takes none']);
});

test('a worker that keeps taking jobs, or has no room, is left alone', async () => {
  const { state, recreated, run, take } = setup();
  state.waiting = 5;
  for (let i = 0; i < 6; i++) {
    await run(4000);
    take();
  }
  expect(recreated).toEqual([]);
  state.held = 2; // as many as its concurrency: it cannot take more
  await run(30_000);
  expect(recreated).toEqual([]);
});

test('nothing is judged while Redis is away, and the clock restarts when it is back', async () => {
  const { state, recreated, run } = setup();
  state.waiting = 1;
  state.redisReady = false;
  state.blocking = 'reconnecting';
  await run(60_000);
  expect(recreated).toEqual([]);
  state.redisReady = true;
  await run(9000);
  expect(recreated).toEqual([]);
  await run(3000);
  expect(recreated).toEqual(['its blocking connection is "reconnecting"']);
});

test('a stopped fetch loop is a symptom even with an empty queue; a symptom that clears resets the clock', async () => {
  const { state, recreated, run } = setup();
  state.running = false;
  await run(8000);
  state.running = true;
  await run(2000);
  state.running = false;
  await run(8000);
  expect(recreated).toEqual([]);
  await run(4000);
  expect(recreated).toEqual(['its fetch loop stopped']);
});
