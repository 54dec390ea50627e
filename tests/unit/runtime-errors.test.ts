import { toJobFailure } from '../../workers/processors/failure-mapping';
import { AbortedError, InferenceCrashedError, InferenceError } from '../../workers/runtime/runtime-errors';

test('a failed inference fails its job for good as inference_failed, a crashed one as inference_crashed', () => {
  const failed = toJobFailure(new InferenceError('Failed to allocate memory'), false);
  expect({ name: failed.name, message: failed.message }).toEqual({
    name: 'UnrecoverableError',
    message: 'inference_failed: Failed to allocate memory',
  });
  const crashed = toJobFailure(new InferenceCrashedError('inference thread crashed (exit code 70)'), false);
  expect({ name: crashed.name, message: crashed.message }).toEqual({
    name: 'UnrecoverableError',
    message: 'inference_crashed: inference thread crashed (exit code 70)',
  });
});

test('a crash is known by its class and code, not by what its message says', () => {
  const lookalike = new InferenceError('inference thread crashed (exit code 1)');
  expect(lookalike).toMatchObject({ code: 'inference_failed', crashed: false });
  expect(toJobFailure(lookalike, false).message).toMatch(/^inference_failed: /);
  expect(new InferenceCrashedError('gone')).toMatchObject({ code: 'inference_crashed', crashed: true });
  expect(new InferenceCrashedError('gone')).toBeInstanceOf(InferenceError);
});

test('an aborted run is a canceled job', () => {
  expect(toJobFailure(new AbortedError(), false).message).toBe('canceled: canceled by the client');
});
