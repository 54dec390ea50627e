import { UnrecoverableError } from 'bullmq';
import { jobFailure, parseFailure, STALLED_CODE } from '../../src/jobs/job-failure';

test('a job failed by BullMQ for stalling too often reads as code "stalled"', () => {
  // The exact text BullMQ's stalled-job script stores (moveStalledJobsToWait).
  const failure = parseFailure('job stalled more than allowable limit');
  expect(failure.code).toBe(STALLED_CODE);
  expect(failure.code).toBe('stalled');
  expect(failure.message).toMatch(/MAX_STALLED_COUNT/);
});

test('worker failures keep their code; only retryable ones are plain errors', () => {
  expect(jobFailure('inference_crashed', 'thread died')).toBeInstanceOf(UnrecoverableError);
  expect(jobFailure('model_unavailable', 'elsewhere', true)).not.toBeInstanceOf(UnrecoverableError);
  expect(parseFailure(jobFailure('inference_crashed', 'thread died').message)).toEqual({ code: 'inference_crashed', message: 'thread died' });
});
