import { UnrecoverableError } from 'bullmq';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { attr, createGraph } from '../../scripts/demo-models/onnx-graph';
import { ANONYMOUS } from '../../src/auth/api-keys';
import { newJobId } from '../../src/jobs/job-contract';
import { createJobQueues } from '../../src/jobs/job-queues';
import { createLogger } from '../../src/logger';
import { MANIFEST_FILE, type GeneratorManifest } from '../../src/models/model-manifest';
import { createRedis } from '../../src/redis/redis-connection';
import { postJson, waitForJob } from '../helpers/api-client';
import { DEMO_MODELS, DIST, requireBuilt } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';

/**
 * A model that fails its inference must fail only its job, with a stable code, and leave the
 * worker serving: onnxruntime's own errors (here a failed allocation) are `inference_failed`; an
 * inference thread that dies under a batch is `inference_crashed`, and the runner starts a new one.
 * A payload the worker cannot read fails at once as `invalid_payload` (no retry reads it better).
 */

/** A generator whose graph expands the latent's sum to 2^58 floats (2^60 bytes): no machine can allocate it. */
function writeHugeAllocationModel(dir: string): void {
  const g = createGraph('huge_allocation');
  const latent = g.input('latent', ['N', 4]);
  // Depends on the input, so onnxruntime cannot fold it into a constant when it loads the graph.
  const sum = g.node('ReduceSum', [latent], { keepdims: attr.int(1) });
  g.node('Expand', [sum, g.int64s('shape', [2 ** 20, 2 ** 20, 2 ** 18])], {}, 'image');
  g.output('image', ['A', 'B', 'C']);
  const manifest: GeneratorManifest = {
    name: 'huge-allocation',
    kind: 'generator',
    description: 'Test fixture: its inference asks for 2^60 bytes and fails.',
    files: { model: 'model.onnx' },
    inputs: { latent: 'latent' },
    outputs: { image: 'image' },
    latent: { shape: [4], distribution: 'normal' },
    batching: { max_batch_size: 4, max_queue_delay_ms: 2 },
    output: {
      width: 64,
      height: 64,
      channel_order: 'RGB',
      range: [-1, 1],
      layout: 'NCHW',
      resize_kernel: 'lanczos3',
      max_width: 64,
      max_height: 64,
    },
  };
  const folder = path.join(dir, manifest.name);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'model.onnx'), g.serialize({ opset: 13, producer: 'darkroom tests' }));
  fs.writeFileSync(path.join(folder, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
}

describe('a job whose inference fails', () => {
  let stack: Stack;
  let fixtures: string;
  beforeAll(async () => {
    fixtures = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-failing-models-'));
    writeHugeAllocationModel(fixtures);
    stack = await startStack({ env: { MODELS_PATH: [DEMO_MODELS, fixtures].join(','), ORT_INTRA_OP_THREADS: '1' } });
  });
  afterAll(async () => {
    await stack?.stop();
    if (fixtures) fs.rmSync(fixtures, { recursive: true, force: true });
  });

  test('fails for good with inference_failed, and the same worker process goes on serving', async () => {
    const [worker] = stack.workers;
    const pid = worker.child.pid;
    for (let round = 0; round < 2; round++) {
      const bad = await postJson(`${stack.url}/v1/generations`, { model: 'huge-allocation', n: 2 });
      expect(bad.status).toBe(202);
      const failed = await waitForJob(stack.url, bad.body.id, 120_000);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'inference_failed' }, attempts_made: 1 });
      expect(failed.error.message).toMatch(/allocate/i);

      const good = await postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn', n: 2 });
      expect((await waitForJob(stack.url, good.body.id, 120_000)).status).toBe('succeeded');
    }
    expect(worker.child.exitCode).toBeNull();
    expect(worker.child.pid).toBe(pid);
    expect(stack.workers).toHaveLength(1);
  });

  test('a payload the worker cannot read fails after one attempt as invalid_payload, seen by its owner', async () => {
    // Added straight to the queue, with the options the API gives every job (JOB_ATTEMPTS=3), as a
    // producer that skipped the API's validation would; `n` must be a number.
    const redis = createRedis(stack.redis.url, 'worker');
    const queues = createJobQueues(redis, { prefix: 'darkroom', attempts: 3, retentionSeconds: 3600 });
    const id = newJobId('generation');
    try {
      const params = { model: 'demo-cppn', prompt: '', n: 'two', width: 64, height: 64, seed: 1, output_format: 'png' };
      const job = await queues.queues.generation.add(
        'generation',
        { type: 'generation', owner: ANONYMOUS, params },
        { jobId: id },
      );
      expect(job.opts.attempts).toBe(3);
      const failed = await waitForJob(stack.url, id, 60_000);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'invalid_payload' }, attempts_made: 1 });
      expect(failed.error.message).toMatch(/params\.n/);
    } finally {
      await queues.close();
      redis.disconnect();
    }
  });
});

describe('an inference thread that dies under a batch', () => {
  // The compiled runner: its thread is a .js file, and errors must be the classes failure mapping knows.
  type RunnerModule = typeof import('../../workers/runtime/model-runner');
  type MappingModule = typeof import('../../workers/processors/failure-mapping');
  let runtime: RunnerModule;
  let mapping: MappingModule;
  beforeAll(async () => {
    requireBuilt();
    runtime = await import(path.join(DIST, 'workers', 'runtime', 'model-runner.js'));
    mapping = await import(path.join(DIST, 'workers', 'processors', 'failure-mapping.js'));
  });

  /**
   * The real inference thread, which loads the model as usual but ends itself (exit code 70, as a
   * thread that ran out of memory would end) when the first batch arrives.
   */
  const dyingThread = (file: string, workerData: unknown) =>
    new Worker(
      `require('node:worker_threads').parentPort.once('message', () => process.exit(70)); require(${JSON.stringify(file)});`,
      { eval: true, workerData },
    );

  const feeds = () => ({
    latent: { type: 'float32' as const, dims: [1, 16], data: new Float32Array(16).fill(0.5) },
    prompt_embedding: { type: 'float32' as const, dims: [1, 32], data: new Float32Array(32) },
  });

  test('fails only that batch as inference_crashed; the runner starts a new thread and serves on', async () => {
    const threads: string[] = [];
    const runner = await runtime.startModelRunner({
      name: 'demo-cppn',
      modelPath: path.join(DEMO_MODELS, 'demo-cppn', 'model.onnx'),
      providers: ['cpu'],
      intraOpThreads: 1,
      maxBatchSize: 8,
      maxQueueDelayMs: 0,
      logger: createLogger('silent', 'test'),
      createThread: (file, options) => {
        threads.push(threads.length === 0 ? 'dying' : 'real');
        return threads.length === 1 ? dyingThread(file, options.workerData) : new Worker(file, options);
      },
    });
    try {
      // The second request waits while the first batch runs, then runs on the new thread.
      const [first, second] = [runner.run(feeds()), runner.run(feeds())];
      const crashed = await first.then(
        () => undefined,
        (err: Error) => err,
      );
      expect(crashed).toBeInstanceOf(runtime.InferenceError);
      expect(crashed).toMatchObject({ crashed: true, message: 'inference thread crashed (exit code 70)' });
      // Failed for good (BullMQ does not retry an UnrecoverableError), with the code as a field.
      const failure = mapping.toJobFailure(crashed, false);
      expect(failure).toBeInstanceOf(UnrecoverableError);
      expect(failure).toMatchObject({ code: 'inference_crashed' });

      expect((await second).image.dims).toEqual([1, 3, 256, 256]);
      expect((await runner.run(feeds())).image.dims).toEqual([1, 3, 256, 256]);
      expect(threads).toEqual(['dying', 'real']);
      expect(runner.stats().runs).toBe(2);
    } finally {
      await runner.close();
    }
  });
});
