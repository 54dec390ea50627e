import { requestJson, waitForJob } from '../helpers/api-client';
import { colourSwatches, startJobStream, type Accepted } from '../helpers/job-stream';
import { DEMO_MODELS } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';

/**
 * Redis killed (SIGKILL) and started again on the same port and data directory while jobs stream
 * in. The test Redis fsyncs every write (`appendfsync always`), so every job the API acknowledged
 * with 202 is on disk; with the production default (`everysec`) up to about a second of
 * acknowledged writes can be lost when the machine itself fails (README, Guarantees). While Redis
 * is down the API answers 503 at once; afterwards the same worker processes carry on by themselves.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    workers: 2,
    redis: { appendfsync: 'always' },
    env: {
      MODELS_PATH: DEMO_MODELS,
      ORT_INTRA_OP_THREADS: '1',
      WORKER_CONCURRENCY: '4',
      LOCK_DURATION_MS: '5000',
      STALLED_INTERVAL_MS: '1000',
      WORKER_WATCHDOG_MS: '10000',
      RATE_LIMIT_PER_MINUTE: '100000',
      MAX_JOBS_IN_FLIGHT_PER_KEY: '100000',
    },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

test('every job acknowledged before, during and after a Redis restart succeeds, on the same worker processes', async () => {
  const pids = stack.workers.map((w) => w.child.pid);
  const swatches = await colourSwatches();
  let n = 0;
  const stream = startJobStream(
    stack.url,
    () => {
      n += 1;
      if (n % 3 === 0)
        return {
          kind: 'classification',
          path: '/v1/classifications',
          body: { model: 'demo-colors', images: [swatches[n % 4], swatches[(n + 1) % 4]] },
        };
      return {
        kind: 'generation',
        path: '/v1/generations',
        body: { model: 'demo-cppn', n: 1 + (n % 2), seed: n, prompt: `restart ${n}` },
      };
    },
    150,
  );
  // Kill Redis once jobs are flowing, and stop once as many have been accepted since it came back.
  await stream.acceptedSince(0, 15);
  const killedAt = Date.now();
  await stack.redis.restart(2000); // SIGKILL, 2 s down, same port and append-only file
  const backAt = Date.now();
  await stream.acceptedSince(backAt + 1, 15);
  await stream.stop();

  const before = stream.accepted.filter((j) => j.acceptedAt < killedAt);
  const after = stream.accepted.filter((j) => j.acceptedAt > backAt);
  expect(before.length).toBeGreaterThan(10);
  expect(after.length).toBeGreaterThan(10);

  // While Redis was down: answered 503 redis_unavailable, and fast.
  const down = stream.refused.filter((r) => r.at > killedAt + 200 && r.at < backAt - 200);
  expect(down.length).toBeGreaterThan(5);
  for (const r of down) expect(r).toMatchObject({ status: 503, code: 'redis_unavailable' });
  const ms = down.map((r) => r.ms);
  process.stdout.write(
    `503 while Redis was down: ${down.length} answers, median ${median(ms)} ms, max ${Math.max(...ms)} ms\n`,
  );
  expect(median(ms)).toBeLessThan(500); // 100 ms or less on an idle machine; generous for a busy one

  const outcome = async (job: Accepted) => ({ job, view: await waitForJob(stack.url, job.id, 240_000) });
  const results = await Promise.all(stream.accepted.map(outcome));
  const notSucceeded = results
    .filter((r) => r.view.status !== 'succeeded')
    .map((r) => ({ id: r.job.id, status: r.view.status, error: r.view.error }));
  expect(notSucceeded).toEqual([]);
  const firstAfter = Math.min(
    ...results.filter((r) => r.job.acceptedAt > backAt).map((r) => Date.parse(r.view.finished_at)),
  );
  process.stdout.write(
    `accepted ${stream.accepted.length} jobs (${before.length} before the kill, ${after.length} after Redis was back); ` +
      `refused ${stream.refused.length}; first job submitted after the restart finished ${firstAfter - backAt} ms after Redis was back\n`,
  );

  // Same processes, still alive; the watchdog's verdicts (if any) are in their logs.
  expect(stack.workers.map((w) => w.child.pid)).toEqual(pids);
  for (const w of stack.workers) expect(w.child.exitCode).toBeNull();
  const recreated = stack.workers.filter((w) => w.output().includes('queue worker is stuck')).length;
  process.stdout.write(`workers whose watchdog recreated a queue worker: ${recreated}\n`);
  expect((await requestJson(`${stack.url}/readyz`)).status).toBe(200);
}, 400_000);
