import { UnrecoverableError } from 'bullmq';
import { failureCode, JobFailure, parseFailure, RetryableJobFailure, STALLED_CODE } from '../../src/jobs/job-failure';

test('a job failed by BullMQ for stalling too often reads as code "stalled"', () => {
  // The exact text BullMQ's stalled-job script stores (moveStalledJobsToWait).
  const failure = parseFailure('job stalled more than allowable limit');
  expect(failure.code).toBe(STALLED_CODE);
  expect(failure.code).toBe('stalled');
  expect(failure.message).toMatch(/MAX_STALLED_COUNT/);
});

test('a JobFailure carries its code as a field, is unrecoverable for BullMQ, and reads back from its stored message', () => {
  const failure = new JobFailure('inference_crashed', 'thread died');
  expect(failure).toBeInstanceOf(UnrecoverableError);
  expect(failureCode(failure)).toBe('inference_crashed');
  expect(failure.detail).toBe('thread died');
  // BullMQ stores only the message as failedReason; the API reads the code back from it.
  expect(parseFailure(failure.message)).toEqual({ code: 'inference_crashed', message: 'thread died' });
});

test('a RetryableJobFailure carries its code but is a plain error, so BullMQ retries it', () => {
  const failure = new RetryableJobFailure('model_unavailable', 'elsewhere');
  expect(failure).not.toBeInstanceOf(UnrecoverableError);
  expect(failureCode(failure)).toBe('model_unavailable');
  expect(parseFailure(failure.message)).toEqual({ code: 'model_unavailable', message: 'elsewhere' });
});

test('any other error has no code of its own and reads back as internal_error', () => {
  expect(failureCode(new Error('inference_failed: looks like a code'))).toBeUndefined();
  expect(parseFailure('Something exploded')).toEqual({ code: 'internal_error', message: 'Something exploded' });
  expect(parseFailure(undefined)).toEqual({ code: 'internal_error', message: 'the job failed' });
});
