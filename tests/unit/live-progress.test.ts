import { preferredWait } from '../../src/http/prefer-wait';
import { compareStreamIds, isStreamId, nextStreamId, toJobEvent } from '../../src/jobs/job-event';
import { estimateSeconds, remainingMs, workUnits, type QueueSnapshot } from '../../src/jobs/queue-estimates';
import { providerOf } from '../../src/jobs/worker-directory';

describe('Prefer: wait', () => {
  test.each([
    [undefined, undefined],
    ['', undefined],
    ['wait=5', 5],
    ['respond-async, wait=10', 10],
    ['wait="7"', 7],
    ['WAIT = 3 ; foo', 3],
    ['wait=0', undefined],
    ['wait=abc', undefined],
    ['wait=-2', undefined],
    ['return=minimal', undefined],
    ['wait=3600', 60],
  ])('%j asks to wait %j s (at most 60)', (header, seconds) => {
    expect(preferredWait(header, 60)).toBe(seconds);
  });

  test('a maximum of 0 turns the preference off', () => {
    expect(preferredWait('wait=5', 0)).toBeUndefined();
  });
});

describe('job events from the BullMQ stream', () => {
  test('map to status, progress and finished events', () => {
    expect(toJobEvent('1-0', { event: 'waiting', jobId: 'j' })).toEqual({
      id: '1-0',
      jobId: 'j',
      kind: 'status',
      status: 'queued',
    });
    expect(toJobEvent('1-1', { event: 'delayed', jobId: 'j', delay: 1000 })).toMatchObject({
      kind: 'status',
      status: 'queued',
    });
    expect(toJobEvent('2-0', { event: 'active', jobId: 'j' })).toMatchObject({ kind: 'status', status: 'running' });
    expect(toJobEvent('3-0', { event: 'progress', jobId: 'j', data: '{"value":0.5,"step":10,"steps":20}' })).toEqual({
      id: '3-0',
      jobId: 'j',
      kind: 'progress',
      progress: { value: 0.5, step: 10, steps: 20 },
    });
    expect(toJobEvent('3-1', { event: 'progress', jobId: 'j', data: { value: 0.25 } })).toMatchObject({
      progress: { value: 0.25 },
    });
    expect(toJobEvent('4-0', { event: 'completed', jobId: 'j', returnvalue: '{}' })).toMatchObject({
      kind: 'finished',
      status: 'succeeded',
    });
    expect(
      toJobEvent('4-1', { event: 'failed', jobId: 'j', failedReason: 'canceled: canceled by the client' }),
    ).toMatchObject({ kind: 'finished', status: 'canceled' });
    expect(toJobEvent('4-2', { event: 'failed', jobId: 'j', failedReason: 'boom' })).toMatchObject({
      kind: 'finished',
      status: 'failed',
    });
    expect(toJobEvent('5-0', { event: 'removed', jobId: 'j' })).toMatchObject({ kind: 'removed' });
  });

  test('ignore what is not about one of our jobs', () => {
    expect(toJobEvent('1-0', { event: 'drained' })).toBeUndefined();
    expect(toJobEvent('1-0', { event: 'added', jobId: 'j' })).toBeUndefined();
    expect(toJobEvent('1-0', { event: 'progress', jobId: 'j', data: 'not json' })).toBeUndefined();
  });

  test('stream ids are ordered by time, then sequence', () => {
    expect(isStreamId('1712345678901-0')).toBe(true);
    expect(isStreamId('1712345678901')).toBe(false);
    expect(isStreamId('x-1')).toBe(false);
    expect(compareStreamIds('10-0', '9-5')).toBeGreaterThan(0);
    expect(compareStreamIds('10-1', '10-2')).toBeLessThan(0);
    expect(compareStreamIds('10-2', '10-2')).toBe(0);
    expect(nextStreamId('10-2')).toBe('10-3');
  });
});

describe('ETA', () => {
  const now = 1_000_000;
  const snapshot = (over: Partial<QueueSnapshot> = {}): QueueSnapshot => ({
    finishAt: new Map(),
    lanes: [now, now],
    avgJobMs: 1000,
    perUnitMs: new Map([['m', 100]]),
    ...over,
  });
  const queued = (position: number, units = 5) => ({
    id: 'j',
    running: false,
    position,
    model: 'm',
    units,
    progress: 0,
  });

  test('a queued job waits its turn round the lanes, then runs for its own expected time', () => {
    // two idle slots: positions 0 and 1 start at once, 2 and 3 after one average job
    expect(estimateSeconds(snapshot(), queued(0), now)).toBe(0.5);
    expect(estimateSeconds(snapshot(), queued(1), now)).toBe(0.5);
    expect(estimateSeconds(snapshot(), queued(2), now)).toBe(1.5);
    expect(estimateSeconds(snapshot(), queued(3), now)).toBe(1.5);
    // a busy slot frees in 4 s
    expect(estimateSeconds(snapshot({ lanes: [now + 4000] }), queued(0), now)).toBe(4.5);
  });

  test('is unknown without a live worker or any measured run', () => {
    expect(estimateSeconds(snapshot({ lanes: [] }), queued(0), now)).toBeNull();
    expect(estimateSeconds(snapshot({ avgJobMs: undefined, perUnitMs: new Map() }), queued(0), now)).toBeNull();
  });

  test('a running job: what its snapshot says, else its own pace, else the averages', () => {
    const running = { id: 'r', running: true, model: 'm', units: 10, progress: 0, startedAt: now - 400 };
    expect(estimateSeconds(snapshot({ finishAt: new Map([['r', now + 2500]]) }), running, now)).toBe(2.5);
    expect(estimateSeconds(snapshot(), running, now)).toBe(0.6); // 10 units x 100 ms - 400 ms elapsed
    expect(estimateSeconds(snapshot(), { ...running, progress: 0.25 }, now)).toBe(1.2); // 400 ms for a quarter
    expect(remainingMs(0, 5000, 1000)).toBe(0);
    expect(remainingMs(0, 0, undefined)).toBeUndefined();
  });

  test('work units: images times steps, or input images', () => {
    const params = { model: 'm', prompt: '', n: 4, width: 8, height: 8, seed: 1, output_format: 'png' as const };
    expect(workUnits({ type: 'generation', params })).toBe(4);
    expect(workUnits({ type: 'generation', params: { ...params, steps: 20 } })).toBe(80);
    const input = { key: 'k', bytes: 1, width: 1, height: 1, format: 'png' };
    expect(workUnits({ type: 'classification', params: { model: 'm', top_k: 5 }, inputs: [input, input, input] })).toBe(
      3,
    );
  });
});

test('a worker runs on the providers of its models', () => {
  expect(
    providerOf({
      id: 'w',
      queues: [],
      models: [
        { name: 'a', provider: 'cpu' },
        { name: 'b', provider: 'cpu' },
      ],
    }),
  ).toBe('cpu');
  expect(
    providerOf({
      id: 'w',
      queues: [],
      models: [
        { name: 'a', provider: 'cuda' },
        { name: 'b', provider: 'cpu' },
      ],
    }),
  ).toBe('cpu+cuda');
  expect(providerOf({ id: 'w', queues: [], models: [] })).toBe('none');
});
