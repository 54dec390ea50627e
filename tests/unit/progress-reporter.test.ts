import type { Job } from 'bullmq';
import type { JobPayload, JobProgress } from '../../src/jobs/job-contract';
import { createLogger } from '../../src/logger';
import { PROGRESS_INTERVAL_MS, progressReporter } from '../../workers/pipelines/pipeline-context';

/** A job that records its progress writes, each taking `writeMs` as a Redis round trip would. */
function recordingJob(writeMs = 1) {
  const writes: { at: number; progress: JobProgress }[] = [];
  const job = {
    id: 'j',
    updateProgress: async (progress: JobProgress) => {
      writes.push({ at: Date.now(), progress });
      await new Promise((r) => setTimeout(r, writeMs));
    },
  } as unknown as Job<JobPayload>;
  return { job, writes };
}

const logger = createLogger('silent', 'test');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('16 images finishing together cost two writes, the last one complete', async () => {
  const { job, writes } = recordingJob();
  const report = progressReporter(job, 16, logger);
  await Promise.all(Array.from({ length: 16 }, () => report()));
  expect(writes.length).toBeLessThanOrEqual(2);
  expect(writes.at(-1)!.progress.value).toBe(1);
});

test('fast units: about one write per tenth of the job, in order, ending at the last unit', async () => {
  const { job, writes } = recordingJob();
  const report = progressReporter(job, 30, logger);
  for (let step = 1; step <= 30; step++) {
    await report({ step, steps: 30 });
    await sleep(2);
  }
  const steps = writes.map((w) => w.progress.step!);
  expect(steps.length).toBeGreaterThanOrEqual(10);
  expect(steps.length).toBeLessThanOrEqual(14);
  for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeGreaterThan(steps[i - 1]);
  expect(steps.at(-1)).toBe(30);
});

test('many fast units: at most one write per interval between the tenths', async () => {
  const { job, writes } = recordingJob();
  const report = progressReporter(job, 1000, logger);
  let last: Promise<void> = Promise.resolve();
  for (let i = 0; i < 1000; i++) {
    last = report();
    if (i % 100 === 50) await sleep(1);
  }
  await last;
  expect(writes.length).toBeLessThanOrEqual(12);
  expect(writes.at(-1)!.progress.value).toBe(1);
});

test('a unit left waiting is written by the timer, and slow units are each written', async () => {
  const { job, writes } = recordingJob();
  const report = progressReporter(job, 100, logger);
  await report();
  expect(writes).toHaveLength(0);
  await sleep(PROGRESS_INTERVAL_MS + 50);
  expect(writes.map((w) => w.progress.value)).toEqual([0.01]);
  for (let i = 0; i < 3; i++) {
    await sleep(PROGRESS_INTERVAL_MS + 10);
    await report();
  }
  expect(writes.map((w) => w.progress.value)).toEqual([0.01, 0.02, 0.03, 0.04]);
});

test('step progress keeps every tenth even when each write outlasts several steps', async () => {
  const { job, writes } = recordingJob(20);
  const report = progressReporter(job, 30, logger);
  let last: Promise<void> = Promise.resolve();
  for (let step = 1; step <= 30; step++) {
    last = report({ step, steps: 30 });
    await sleep(2);
  }
  await last;
  const steps = writes.map((w) => w.progress.step!);
  expect(steps.length).toBeGreaterThanOrEqual(10);
  for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeGreaterThan(steps[i - 1]);
  expect(steps.at(-1)).toBe(30);
});

test('once the job signal aborts, a deferred value is dropped and later units write nothing', async () => {
  const { job, writes } = recordingJob();
  const ended = new AbortController();
  const report = progressReporter(job, 100, logger, ended.signal);
  // Neither crosses a tenth, and the interval has not passed: both wait for the timer.
  await report({ step: 1, steps: 100 });
  await sleep(5);
  await report({ step: 2, steps: 100 });
  ended.abort();
  await report({ step: 3, steps: 100 });
  await sleep(PROGRESS_INTERVAL_MS + 50);
  expect(writes).toEqual([]);
});

test('a job of one unit writes no progress: its completion says it', async () => {
  const { job, writes } = recordingJob();
  const report = progressReporter(job, 1, logger);
  await report();
  await sleep(PROGRESS_INTERVAL_MS + 50);
  expect(writes).toEqual([]);
  // Two units: the last one is written, as before.
  const two = recordingJob();
  const reportTwo = progressReporter(two.job, 2, logger);
  await reportTwo();
  await reportTwo();
  expect(two.writes.at(-1)!.progress.value).toBe(1);
});
