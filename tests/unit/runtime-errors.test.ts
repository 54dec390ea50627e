import { UnrecoverableError } from 'bullmq';
import { failureCode } from '../../src/jobs/job-failure';
import { toJobFailure } from '../../workers/processors/failure-mapping';
import { AbortedError, InferenceCrashedError, InferenceError } from '../../workers/runtime/runtime-errors';

test('a failed inference fails its job for good as inference_failed, a crashed one as inference_crashed', () => {
  // Unrecoverable: BullMQ fails the job at once instead of retrying it; the code travels as a field.
  const failed = toJobFailure(new InferenceError('Failed to allocate memory'), false);
  expect({ unrecoverable: failed instanceof UnrecoverableError, code: failureCode(failed) }).toEqual({
    unrecoverable: true,
    code: 'inference_failed',
  });
  const crashed = toJobFailure(new InferenceCrashedError('inference thread crashed (exit code 70)'), false);
  expect({ unrecoverable: crashed instanceof UnrecoverableError, code: failureCode(crashed) }).toEqual({
    unrecoverable: true,
    code: 'inference_crashed',
  });
});

test('a crash is known by its class and code, not by what its message says', () => {
  const lookalike = new InferenceError('inference thread crashed (exit code 1)');
  expect(lookalike).toMatchObject({ code: 'inference_failed', crashed: false });
  expect(failureCode(toJobFailure(lookalike, false))).toBe('inference_failed');
  expect(new InferenceCrashedError('gone')).toMatchObject({ code: 'inference_crashed', crashed: true });
  expect(new InferenceCrashedError('gone')).toBeInstanceOf(InferenceError);
});

test('an aborted run is a canceled job', () => {
  expect(failureCode(toJobFailure(new AbortedError(), false))).toBe('canceled');
});
