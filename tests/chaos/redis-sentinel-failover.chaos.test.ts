import { requestJson, waitForJob } from '../helpers/api-client';
import { colourSwatches, startJobStream, type Accepted } from '../helpers/job-stream';
import { DEMO_MODELS } from '../helpers/paths';
import { startTestSentinelGroup, type TestSentinelGroup } from '../helpers/redis-sentinel';
import { startStackOn, type Stack } from '../helpers/stack';

/**
 * The Redis primary SIGKILLed while jobs stream in, on a real Sentinel group (primary, replica,
 * three sentinels) with the API and two workers configured by REDIS_SENTINELS. While the sentinels
 * promote the replica the API answers 503 with Retry-After, never 500; it accepts jobs again
 * within 30 s of the kill; every job it acknowledged with 202 succeeds. REDIS_WAIT_REPLICAS=1 (the
 * API answers 202 once the replica has the job) is what makes the last true: replication is
 * asynchronous, and without it the jobs acknowledged in the last moments before the kill can be
 * missing from the promoted replica. SENTINEL_TEST_WAIT_REPLICAS=0 runs it without, to count them.
 */
const WAIT_REPLICAS = process.env.SENTINEL_TEST_WAIT_REPLICAS ?? '1';

let group: TestSentinelGroup;
let stack: Omit<Stack, 'redis'>;
beforeAll(async () => {
  group = await startTestSentinelGroup();
  stack = await startStackOn(group, {
    workers: 2,
    env: {
      MODELS_PATH: DEMO_MODELS,
      ORT_INTRA_OP_THREADS: '1',
      WORKER_CONCURRENCY: '4',
      LOCK_DURATION_MS: '5000',
      STALLED_INTERVAL_MS: '1000',
      WORKER_WATCHDOG_MS: '10000',
      RATE_LIMIT_PER_MINUTE: '100000',
      MAX_JOBS_IN_FLIGHT_PER_KEY: '100000',
      REDIS_WAIT_REPLICAS: WAIT_REPLICAS,
      REDIS_WAIT_TIMEOUT_MS: '500',
    },
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await group?.stop();
});

async function until(test: () => boolean): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Lines of every worker's log that say a job ran to its end: how often each job did. */
function runsPerJob(): Map<string, number> {
  const runs = new Map<string, number>();
  for (const w of stack.workers)
    for (const text of w.output().split('\n')) {
      if (!text.includes('"job succeeded"') && !text.includes('"job failed"')) continue;
      const id = (JSON.parse(text) as { jobId?: string }).jobId;
      if (id) runs.set(id, (runs.get(id) ?? 0) + 1);
    }
  return runs;
}

test('a failover of the Redis primary: 503 with Retry-After meanwhile, jobs again within 30 s, no acknowledged job lost', async () => {
  const swatches = await colourSwatches();
  const oldPrimary = await group.primaryAddress();
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
        body: { model: 'demo-cppn', n: 1, seed: n, prompt: `failover ${n}` },
      };
    },
    100,
  );
  await stream.acceptedSince(0, 20);
  const killedAt = Date.now();
  group.primary.process.kill('SIGKILL');
  // The sentinels name the replica as the primary once the failover is done.
  for (;;) {
    if ((await group.primaryAddress()) !== oldPrimary) break;
    await new Promise((r) => setTimeout(r, 100));
    if (Date.now() - killedAt > 60_000) throw new Error('no failover within 60 s');
  }
  const promotedAt = Date.now();
  // Resumed: the first 202 to a request sent after the kill.
  const sentAfterKill = () => stream.accepted.filter((j) => j.sentAt > killedAt);
  await until(() => sentAfterKill().length > 0);
  const resumedAt = Math.min(...sentAfterKill().map((j) => j.acceptedAt));
  await until(() => sentAfterKill().length >= 20);
  await stream.stop();

  // Meanwhile (requests in flight at the kill included): only 503s, each with Retry-After; never a 500, never no answer.
  expect(stream.refused.filter((r) => r.at + r.ms < killedAt)).toEqual([]);
  const during = stream.refused;
  expect(during.length).toBeGreaterThan(0);
  for (const r of during) expect(r).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/) });
  expect(resumedAt - killedAt).toBeLessThan(30_000);

  // Every acknowledged job: there (not lost with the primary), and succeeded.
  const lost: Accepted[] = [];
  const views = await Promise.all(
    stream.accepted.map(async (job) => {
      const { status } = await requestJson(`${stack.url}/v1/jobs/${job.id}`);
      if (status === 404) return void lost.push(job);
      return { job, view: await waitForJob(stack.url, job.id, 240_000) };
    }),
  );
  const runs = runsPerJob();
  const ranTwice = stream.accepted.filter((j) => (runs.get(j.id) ?? 0) > 1).length;
  const lostBeforeKill = lost.filter((j) => j.acceptedAt < killedAt).length;
  process.stdout.write(
    `sentinel failover (REDIS_WAIT_REPLICAS=${WAIT_REPLICAS}): replica promoted ${promotedAt - killedAt} ms after the kill; ` +
      `first 202 to a request sent after the kill at ${resumedAt - killedAt} ms; 503s meanwhile: ${during.length} ` +
      `(codes ${[...new Set(during.map((r) => r.code))].join(',')}); accepted ${stream.accepted.length} jobs ` +
      `(${stream.accepted.filter((j) => j.acceptedAt < killedAt).length} before the kill); ` +
      `lost ${lost.length} (${lostBeforeKill} acknowledged before the kill); ran to an end more than once: ${ranTwice}\n`,
  );
  expect(lost.map((j) => j.id)).toEqual([]);
  const notSucceeded = views
    .filter((v) => v && v.view.status !== 'succeeded')
    .map((v) => ({ id: v!.job.id, status: v!.view.status, error: v!.view.error }));
  expect(notSucceeded).toEqual([]);
  expect((await requestJson(`${stack.url}/readyz`)).status).toBe(200);
}, 400_000);
