import http from 'node:http';
import { Redis } from 'ioredis';
import { postJson, requestJson, waitForJob } from '../helpers/api-client';
import { DEMO_MODELS } from '../helpers/paths';
import { startStack, type ServerProcess, type Stack } from '../helpers/stack';
import { readZip } from '../helpers/zip-reader';

/**
 * SIGTERM, as a redeploy sends it. A worker stops taking jobs and finishes the ones it holds
 * within SHUTDOWN_GRACE_MS; past that it hands them back to the queue (lock released, job back in
 * `wait`) so another worker starts them at once, not after the lock expires. The API stops
 * listening and finishes the requests in flight.
 */
const LOCK_DURATION_MS = 60_000; // long, so a job recovered by the stall check instead of handed back would show

let stack: Stack;
let redis: Redis;
beforeAll(async () => {
  stack = await startStack({
    noWorkers: true,
    // The cost cap lifted: the hand-over test needs the largest job the demo model takes (2517 megapixel-steps).
    env: {
      MODELS_PATH: DEMO_MODELS,
      ORT_INTRA_OP_THREADS: '1',
      LOCK_DURATION_MS: String(LOCK_DURATION_MS),
      STALLED_INTERVAL_MS: '1000',
      MAX_JOB_MEGAPIXEL_STEPS: '3000',
    },
  });
  redis = new Redis(stack.redis.url);
});
afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

/** Submits a generation and waits until a worker has made progress on it. */
async function startLongJob(body: Record<string, unknown>): Promise<string> {
  const res = await postJson(`${stack.url}/v1/generations`, body);
  expect(res.status).toBe(202);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { body: job } = await requestJson(`${stack.url}/v1/jobs/${res.body.id}`);
    if (job.status === 'running' && job.progress > 0) return res.body.id;
    expect(['queued', 'running']).toContain(job.status);
    if (Date.now() > deadline) throw new Error(`job ${res.body.id} never made progress`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const exited = (p: ServerProcess) =>
  new Promise<{ code: number | null; at: number }>((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null)
      return resolve({ code: p.child.exitCode, at: Date.now() });
    p.child.once('exit', (code) => resolve({ code, at: Date.now() }));
  });

test('a worker told to stop finishes the job it holds within a generous grace period, then exits 0', async () => {
  const worker = await stack.addWorker({ SHUTDOWN_GRACE_MS: '180000' });
  const id = await startLongJob({ model: 'demo-diffusion', prompt: 'finish me', steps: 150, n: 2 });
  const exit = exited(worker);
  worker.child.kill('SIGTERM');
  const { code, at } = await exit;
  expect(code).toBe(0);
  const job = await waitForJob(stack.url, id);
  // BullMQ counts the finished run as the job's one attempt.
  expect(job).toMatchObject({ status: 'succeeded', attempts_made: 1 });
  expect(job.result.images).toHaveLength(2);
  // It finished the job before it exited, rather than leaving it to anyone else.
  expect(Date.parse(job.finished_at)).toBeLessThanOrEqual(at);
  expect(worker.output()).not.toContain('handed the running jobs back');
}, 240_000);

test('past a short grace period the worker hands its job back and another worker takes it at once', async () => {
  const first = await stack.addWorker({ SHUTDOWN_GRACE_MS: '500' });
  // The largest job the demo model takes: it must outlast the grace period even on a fast machine.
  const id = await startLongJob({
    model: 'demo-diffusion',
    prompt: 'hand me over',
    steps: 150,
    n: 16,
    width: 1024,
    height: 1024,
  });
  const second = await stack.addWorker();
  const exit = exited(first);
  const signaledAt = Date.now();
  first.child.kill('SIGTERM');
  const { code, at } = await exit;
  expect(code).toBe(0);
  // Grace, then at most 2 s for processors to stop and the cleanup: far from waiting for the job.
  process.stdout.write(`worker exited ${at - signaledAt} ms after SIGTERM (grace 500 ms)\n`);
  expect(at - signaledAt).toBeLessThan(15_000);
  expect(first.output()).toContain('handed the running jobs back');

  const job = await waitForJob(stack.url, id, 180_000);
  // The run handed back is not counted as an attempt: only the one that finished.
  expect(job).toMatchObject({ status: 'succeeded', attempts_made: 1 });
  expect(job.result.images).toHaveLength(16);
  // Handed back, not recovered by the stall check: no stall counted, started twice, and restarted
  // long before the first worker's lock would have expired.
  // The job lives in its model's queue (`generation@<model>`, docs/scaling.md).
  const [stalled, started] = await redis.hmget(`darkroom:generation@${job.model}:${id}`, 'stc', 'ats');
  expect(Number(stalled ?? 0)).toBe(0);
  expect(Number(started)).toBe(2);
  expect(Date.parse(job.started_at) - signaledAt).toBeLessThan(LOCK_DURATION_MS);
  // The second worker ran it. Its "job succeeded" line follows the job's completion in Redis, which
  // the API may report first: wait for the line rather than read the output at once.
  await second.waitForLog((l) => l.jobId === id && l.msg === 'job succeeded', 10_000);
  process.stdout.write(`second worker started the job ${Date.parse(job.started_at) - signaledAt} ms after SIGTERM\n`);
}, 300_000);

/** GETs `url` and stops reading after the first bytes until `resume` is called. */
function slowDownload(url: string) {
  return new Promise<{ status: number; firstBytes: number; resume: () => Promise<Buffer> }>((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.once('data', (chunk: Buffer) => {
          chunks.push(chunk);
          res.pause();
          resolve({
            status: res.statusCode ?? 0,
            firstBytes: chunk.length,
            resume: () =>
              new Promise<Buffer>((done, fail) => {
                res.on('data', (c: Buffer) => chunks.push(c));
                res.once('end', () => done(Buffer.concat(chunks)));
                res.once('error', fail);
                res.resume();
              }),
          });
        });
      })
      .once('error', reject);
  });
}

test('the API told to stop refuses new connections but finishes a download in flight, then exits 0', async () => {
  if (!stack.workers.some((w) => w.child.exitCode === null)) await stack.addWorker();
  const res = await postJson(`${stack.url}/v1/generations`, {
    model: 'demo-cppn',
    n: 12,
    width: 1024,
    height: 1024,
    prompt: 'a big archive',
  });
  const job = await waitForJob(stack.url, res.body.id, 180_000);
  expect(job.status).toBe('succeeded');

  const download = await slowDownload(`${stack.url}/v1/jobs/${job.id}/archive`);
  expect(download.status).toBe(200);
  const exit = exited(stack.api);
  stack.api.child.kill('SIGTERM');
  // New connections are refused while the download is still being served.
  let refused = false;
  for (let i = 0; i < 100 && !refused; i++) {
    refused = await fetch(`${stack.url}/healthz`).then(
      () => false,
      () => true,
    );
    if (!refused) await new Promise((r) => setTimeout(r, 100));
  }
  expect(refused).toBe(true);
  expect(stack.api.child.exitCode).toBeNull();

  const zip = readZip(await download.resume());
  expect(zip.map((f) => f.name).sort()).toEqual([
    ...Array.from({ length: 12 }, (_, i) => `image-${String(i).padStart(3, '0')}.png`),
    'manifest.json',
  ]);
  expect((await exit).code).toBe(0);
}, 300_000);
