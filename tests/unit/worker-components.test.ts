import { createLogger } from '../../src/logger';
import { resource, startComponents, type Component } from '../../workers/components/component';

const logger = createLogger('silent', 'test');

/** A component that records its starts and stops in `log`, failing where told. */
function part(name: string, log: string[], fail: { start?: boolean; stop?: boolean } = {}): Component {
  return {
    name,
    async start() {
      if (fail.start) throw new Error(`${name} cannot start`);
      log.push(`start ${name}`);
    },
    async stop() {
      log.push(`stop ${name}`);
      if (fail.stop) throw new Error(`${name} cannot stop`);
    },
  };
}

test('components start in order and stop in reverse, once however often stop is called', async () => {
  const log: string[] = [];
  const stop = await startComponents([part('a', log), part('b', log), part('c', log)], logger);
  expect(log).toEqual(['start a', 'start b', 'start c']);
  await Promise.all([stop(), stop()]);
  await stop();
  expect(log).toEqual(['start a', 'start b', 'start c', 'stop c', 'stop b', 'stop a']);
});

test('a start that fails stops those already started, in reverse, and rethrows', async () => {
  const log: string[] = [];
  const started = startComponents(
    [part('a', log), part('b', log), part('c', log, { start: true }), part('d', log)],
    logger,
  );
  await expect(started).rejects.toThrow('c cannot start');
  expect(log).toEqual(['start a', 'start b', 'stop b', 'stop a']);
});

test('a stop that fails is logged, the others still stop, and stop rejects naming it', async () => {
  const log: string[] = [];
  const errors: unknown[] = [];
  const recording = {
    ...logger,
    debug: () => undefined,
    error: (fields: unknown) => void errors.push(fields),
  } as unknown as typeof logger;
  const stop = await startComponents([part('a', log), part('b', log, { stop: true }), part('c', log)], recording);
  await expect(stop()).rejects.toThrow('could not stop b');
  expect(log.slice(3)).toEqual(['stop c', 'stop b', 'stop a']);
  expect(errors).toEqual([expect.objectContaining({ component: 'b' })]);
});

test('a resource is there once started, and used too early it says so', async () => {
  const closed: number[] = [];
  const r = resource(
    'answer',
    async () => 42,
    (v) => void closed.push(v),
  );
  expect(() => r.value).toThrow('answer is used before it started');
  const stop = await startComponents([r], logger);
  expect(r.value).toBe(42);
  await stop();
  expect(closed).toEqual([42]);
});
