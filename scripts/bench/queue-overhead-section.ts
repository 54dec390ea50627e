import { Worker } from 'bullmq';
import { performance } from 'node:perf_hooks';
import { newJobId, type GenerationPayload } from '../../src/jobs/job-contract';
import { createJobQueues } from '../../src/jobs/job-queues';
import { createRedis, waitForReady } from '../../src/redis/redis-connection';
import type { BenchOptions } from './bench-options';
import { getJob, submitJob } from './darkroom-client';
import { startDarkroomStack } from './darkroom-stack';
import { summarize, type LatencySummary } from './latency-stats';
import { sleep } from './process-launcher';
import type { BenchRedis } from './redis-launcher';

export interface QueueOverheadResult {
  /** BullMQ alone: add() -> the no-op worker's job is completed. */
  noop: { add: LatencySummary; completed: LatencySummary; jobs: number };
  /** The cheapest real job (omori, n = 1) through darkroom's API and worker. */
  real: {
    post: LatencySummary;
    finished: LatencySummary;
    seen: LatencySummary;
    wait: LatencySummary;
    processing: LatencySummary;
    jobs: number;
  };
}

const payload = (seed: number): GenerationPayload => ({
  type: 'generation',
  params: { model: 'omori-sprite-gan', prompt: '', n: 1, width: 32, height: 32, seed, output_format: 'png' },
  request_id: 'bench',
});

/**
 * darkroom's producer (src/jobs/job-queues.ts, as the API uses it) and a BullMQ Worker whose
 * processor does nothing, both in this process, on an idle Redis; one job at a time.
 */
async function measureNoop(redis: BenchRedis, jobs: number): Promise<QueueOverheadResult['noop']> {
  const prefix = 'bench-noop';
  const connection = createRedis(redis.url, 'api');
  const workerConnection = createRedis(redis.url, 'worker');
  for (const c of [connection, workerConnection]) c.on('error', () => undefined);
  await waitForReady(connection);
  const queues = createJobQueues(connection, { prefix, attempts: 3, retentionSeconds: 3600 });
  const waiting = new Map<string, () => void>();
  const worker = new Worker('generation', async () => ({ images: [] }), {
    connection: workerConnection,
    prefix,
    concurrency: 8,
  });
  worker.on('completed', (job) => waiting.get(String(job.id))?.());
  await worker.waitUntilReady();
  const add: number[] = [];
  const completed: number[] = [];
  try {
    for (let i = 0; i < jobs + 20; i++) {
      const id = newJobId('generation');
      const done = new Promise<void>((resolve) => waiting.set(id, resolve));
      const start = performance.now();
      await queues.queues.generation.add('generation', payload(i), { jobId: id });
      const added = performance.now();
      await done;
      const end = performance.now();
      waiting.delete(id);
      // The first 20 warm up connections and scripts.
      if (i >= 20) {
        add.push(added - start);
        completed.push(end - start);
      }
    }
  } finally {
    await worker.close();
    await queues.close();
    connection.disconnect();
    workerConnection.disconnect();
  }
  return { add: summarize(add), completed: summarize(completed), jobs };
}

/** One client, one omori n = 1 job at a time through the API; polls back to back every 2 ms. */
async function measureReal(
  redis: BenchRedis,
  options: BenchOptions,
  jobs: number,
): Promise<QueueOverheadResult['real']> {
  const stack = await startDarkroomStack(redis, options, 1);
  const r = {
    post: [] as number[],
    finished: [] as number[],
    seen: [] as number[],
    wait: [] as number[],
    processing: [] as number[],
  };
  try {
    for (let i = 0; i < jobs + 10; i++) {
      const wallStart = Date.now();
      const start = performance.now();
      const id = await submitJob(stack.url, {
        path: '/v1/generations',
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'omori-sprite-gan', n: 1, seed: 1_000_000 + i }),
        },
      });
      const posted = performance.now();
      let job = await getJob(stack.url, id);
      while (job.status !== 'succeeded') {
        if (job.status === 'failed' || job.status === 'canceled')
          throw new Error(`job ${id} ${job.status}: ${job.error?.message}`);
        await sleep(2);
        job = await getJob(stack.url, id);
      }
      const seen = performance.now();
      if (i < 10) continue;
      const finished = Date.parse(job.finished_at ?? '');
      const started = Date.parse(job.started_at ?? '');
      r.post.push(posted - start);
      r.seen.push(seen - start);
      r.finished.push(finished - wallStart);
      r.wait.push(started - Date.parse(job.created_at));
      r.processing.push(finished - started);
    }
  } finally {
    await stack.stop();
  }
  return {
    post: summarize(r.post),
    finished: summarize(r.finished),
    seen: summarize(r.seen),
    wait: summarize(r.wait),
    processing: summarize(r.processing),
    jobs,
  };
}

export async function measureQueueOverhead(redis: BenchRedis, options: BenchOptions): Promise<QueueOverheadResult> {
  await redis.flush();
  const noop = await measureNoop(redis, options.queueJobs);
  const real = await measureReal(redis, options, Math.round(options.queueJobs / 2));
  return { noop, real };
}
