import path from 'node:path';
import { Redis } from 'ioredis';
import { requestJson } from '../helpers/api-client';
import { colourSwatches, listFiles, outputProblems, startJobStream, type Accepted } from '../helpers/job-stream';
import { DEMO_MODELS } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';
import { seededRandom, startWorkerChaos } from '../helpers/worker-chaos';

/**
 * Nothing accepted is lost when workers die mid-job. Three worker processes take a continuous
 * stream of generations (demo-cppn, demo-diffusion) and classifications (demo-colors) while one of
 * them is killed with SIGKILL every few seconds, and replaced, at least 50 times. Every accepted
 * job must end succeeded, with exactly its own output files, each a whole image.
 *
 * Test settings: a killed worker's job is found and runs again within about
 * LOCK_DURATION_MS + STALLED_INTERVAL_MS (2 + 1 s). A job can be under several of the killed
 * workers, so MAX_STALLED_COUNT is 10 here (BullMQ's default of 1 fails a job killed twice).
 */
const STREAM_MS = 150_000;
const MIN_KILLS = 50;
const WORKERS = 3;
const CONCURRENCY = 4;
/** Unfinished jobs at most: enough to keep every worker busy, few enough that jobs do not wait minutes. */
const BACKLOG = 2 * WORKERS * CONCURRENCY;
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);

let stack: Stack;
let redis: Redis;
beforeAll(async () => {
  stack = await startStack({
    workers: WORKERS,
    env: {
      MODELS_PATH: DEMO_MODELS,
      ORT_INTRA_OP_THREADS: '1',
      WORKER_CONCURRENCY: String(CONCURRENCY),
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      MAX_STALLED_COUNT: '10',
      RATE_LIMIT_PER_MINUTE: '1000000',
      MAX_JOBS_IN_FLIGHT_PER_KEY: '1000000',
    },
  });
  redis = new Redis(stack.redis.url);
}, 300_000);
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

/** Jobs waiting or running in the two queues the stream feeds. */
async function unfinished(): Promise<number> {
  const counts = await Promise.all(
    ['generation', 'classification'].flatMap((q) => [
      redis.llen(`darkroom:${q}:wait`),
      redis.zcard(`darkroom:${q}:prioritized`),
      redis.llen(`darkroom:${q}:active`),
    ]),
  );
  return counts.reduce((a, b) => a + b, 0);
}

/** The queues the stream's jobs run in: one per job type and model (docs/scaling.md). */
const MODEL_QUEUES = ['generation@demo-cppn', 'generation@demo-diffusion', 'classification@demo-colors'];

/**
 * Pids of the workers running a job now: BullMQ records the worker's name as the active job's
 * `pb`, and a darkroom worker's name is `<host>-<pid>-<random>`.
 */
async function busyWorkers(): Promise<Set<number>> {
  const active = await Promise.all(
    MODEL_QUEUES.map(async (q) =>
      (await redis.lrange(`darkroom:${q}:active`, 0, -1)).map((id) => `darkroom:${q}:${id}`),
    ),
  );
  const names = await Promise.all(active.flat().map((key) => redis.hget(key, 'pb')));
  return new Set(names.filter((n): n is string => !!n).map((n) => Number(n.split('-').at(-2))));
}

/** The job's final view, or how it went missing. */
async function finalView(id: string, timeoutMs: number): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, body } = await requestJson(`${stack.url}/v1/jobs/${id}`);
    if (status === 404) return { id, status: 'vanished' };
    if (status === 200 && ['succeeded', 'failed', 'canceled'].includes(body.status)) return body;
    if (Date.now() > deadline) return { id, status: `still ${body?.status ?? status}` };
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('workers killed at random mid-job lose nothing: every accepted job succeeds with exactly its own files', async () => {
  process.stdout.write(
    `chaos seed ${SEED} (CHAOS_SEED=${SEED} repeats the random choices: pauses between kills, victims, job mix)\n`,
  );
  const random = seededRandom(SEED);
  const swatches = await colourSwatches();
  const stream = startJobStream(
    stack.url,
    () => {
      const roll = random();
      if (roll < 0.3)
        return {
          kind: 'classification',
          path: '/v1/classifications',
          body: { model: 'demo-colors', images: swatches.slice(0, 1 + Math.floor(random() * 3)) },
        };
      if (roll < 0.42)
        return {
          kind: 'generation',
          path: '/v1/generations',
          body: { model: 'demo-diffusion', steps: 20, prompt: 'a lighthouse in fog', seed: Math.floor(random() * 1e6) },
        };
      return {
        kind: 'generation',
        path: '/v1/generations',
        body: {
          model: 'demo-cppn',
          n: 2 + Math.floor(random() * 3),
          seed: Math.floor(random() * 1e6),
          prompt: 'chaos',
        },
      };
    },
    400,
    async () => (await unfinished()) < BACKLOG,
  );
  // Jobs take about 0.1 s on a fast machine: kills wait for a worker that holds one.
  const chaos = startWorkerChaos(stack, { random, minGapMs: 1000, maxGapMs: 3500, keepReady: 1, busy: busyWorkers });
  const started = Date.now();
  while (Date.now() - started < STREAM_MS || (chaos.kills.length < MIN_KILLS && Date.now() - started < 2 * STREAM_MS)) {
    await new Promise((r) => setTimeout(r, 1000));
  }
  await stream.stop();
  await chaos.stop();
  const streamEnded = Date.now();
  expect(chaos.startFailures).toEqual([]);
  expect(chaos.kills.length).toBeGreaterThanOrEqual(MIN_KILLS);
  expect(stack.workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null)).toHaveLength(WORKERS);

  // Every accepted job reaches a final state; none vanishes or stays queued or running.
  const views = await Promise.all(
    stream.accepted.map(async (job: Accepted) => ({ job, view: await finalView(job.id, 300_000) })),
  );
  const drained = Date.now();

  // How often each job's worker died under it (BullMQ's stall counter), and what that cost.
  const stalls = await Promise.all(
    // A job lives in its model's queue (`<type>@<model>`, docs/scaling.md).
    views.map(({ job, view }) =>
      redis
        .hget(`darkroom:${job.id.startsWith('cls_') ? 'classification' : 'generation'}@${view.model}:${job.id}`, 'stc')
        .then(Number),
    ),
  );
  const stalledJobs = stalls.filter((n) => n > 0).length;
  const histogram: Record<number, number> = {};
  for (const n of stalls) histogram[n] = (histogram[n] ?? 0) + 1;
  const latencies = views
    .filter((v) => v.view.finished_at)
    .map((v) => Date.parse(v.view.finished_at) - Date.parse(v.view.created_at))
    .sort((a, b) => a - b);
  const often: Record<string, number> = {};
  views.forEach((v, i) => stalls[i] >= 3 && (often[v.view.model] = (often[v.view.model] ?? 0) + 1));
  const lockLost = stack.workers.reduce(
    (n, w) => n + (w.output().match(/lost the lock of a running job/g)?.length ?? 0),
    0,
  );
  process.stdout.write(
    [
      `chaos: ${chaos.kills.length} kills in ${Math.round((streamEnded - started) / 1000)} s, ${stream.accepted.length} jobs accepted ` +
        `(${views.filter((v) => v.job.kind === 'classification').length} classifications), ${stream.refused.length} refused; worker processes started: ${stack.workers.length}`,
      `jobs by how often their worker was killed under them: ${JSON.stringify(histogram)} (3 or more, by model: ${JSON.stringify(often)}); locks lost by live workers: ${lockLost}`,
      `submit-to-finish: median ${latencies[Math.floor(latencies.length / 2)]} ms, p95 ${latencies[Math.floor(latencies.length * 0.95)]} ms, worst ${latencies[latencies.length - 1]} ms; ` +
        `backlog drained ${Math.round((drained - streamEnded) / 1000)} s after the stream stopped`,
    ].join('\n') + '\n',
  );

  const notSucceeded = views
    .filter((v) => v.view.status !== 'succeeded')
    .map((v) => ({ id: v.job.id, status: v.view.status, error: v.view.error }));
  expect(notSucceeded).toEqual([]);
  expect(stalledJobs).toBeGreaterThan(0); // the kills did hit running jobs

  // Exactly the listed outputs, each a whole image; no temporary file anywhere.
  const blobs = path.join(stack.dataDir, 'blobs');
  const problems: string[] = [];
  for (const { job, view } of views) {
    if (job.kind === 'generation') problems.push(...(await outputProblems(blobs, view)));
    else if (view.result.predictions.length !== view.params.images.length)
      problems.push(`${job.id}: ${view.result.predictions.length} predictions for ${view.params.images.length} images`);
  }
  expect(problems).toEqual([]);
  expect(listFiles(blobs).filter((f) => f.endsWith('.tmp'))).toEqual([]);
}, 900_000);
