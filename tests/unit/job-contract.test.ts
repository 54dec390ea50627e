import { jobIdTime, newJobId, QUEUE_NAMES, queueOfJobId } from '../../src/jobs/job-contract';
import { parseFailure } from '../../src/jobs/job-failure';
import { statusOf } from '../../src/jobs/job-view';

test('job ids are unguessable and name their queue', () => {
  const ids = new Set(Array.from({ length: 1000 }, () => newJobId('generation')));
  expect(ids.size).toBe(1000);
  for (const q of QUEUE_NAMES) expect(queueOfJobId(newJobId(q))).toBe(q);
  expect(queueOfJobId('gen_123')).toBeUndefined();
  expect(queueOfJobId('xyz_00000000-0000-4000-8000-000000000000')).toBeUndefined();
  expect(queueOfJobId('../../etc/passwd')).toBeUndefined();
});

test('failure reasons carry a stable code', () => {
  expect(parseFailure('invalid_image: bad bytes')).toEqual({ code: 'invalid_image', message: 'bad bytes' });
  expect(parseFailure('Something exploded')).toEqual({ code: 'internal_error', message: 'Something exploded' });
  expect(parseFailure(undefined).code).toBe('internal_error');
});

test('BullMQ states map to public statuses', () => {
  expect(statusOf('waiting', undefined, false)).toBe('queued');
  expect(statusOf('delayed', 'boom', false)).toBe('queued'); // waiting for a retry
  expect(statusOf('prioritized', undefined, true)).toBe('canceled');
  expect(statusOf('active', undefined, true)).toBe('running'); // until the worker stops it
  expect(statusOf('completed', undefined, false)).toBe('succeeded');
  expect(statusOf('failed', 'canceled: by client', false)).toBe('canceled');
  expect(statusOf('failed', 'inference_failed: oom', false)).toBe('failed');
});

test('job ids are UUIDv7: they carry their creation time', () => {
  const at = Date.UTC(2026, 10, 23, 18, 0, 0);
  const id = newJobId('generation', at);
  expect(id).toMatch(/^gen_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(jobIdTime(id)).toBe(at);
  expect(jobIdTime('gen_00000000-0000-4000-8000-000000000000')).toBeUndefined(); // v4: no time
  const ids = Array.from({ length: 200 }, () => newJobId('batch', at));
  expect(new Set(ids).size).toBe(200); // same millisecond, still distinct
});
