import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from '../../src/logger';
import { createRedisErrorLog, reconnectDelay } from '../../src/redis/redis-reconnect';

test('reconnect delays double from 200 ms and stop growing at 5 s (+-20%)', () => {
  const middle = () => 0.5; // no jitter
  expect([1, 2, 3, 4, 5, 6, 50].map((n) => reconnectDelay(n, middle))).toEqual([200, 400, 800, 1600, 3200, 5000, 5000]);
  expect(reconnectDelay(50, () => 0)).toBe(4000);
  expect(reconnectDelay(50, () => 1)).toBe(6000);
});

function fakeLogger() {
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => lines.push({ level, fields, msg });
  return { lines, logger: { warn: at('warn'), info: at('info') } as unknown as Logger };
}

test('an outage is one line per retry interval from all connections, and one line when it ends', () => {
  let now = 0;
  const { lines, logger } = fakeLogger();
  const log = createRedisErrorLog(logger, 'redis://:secret@10.0.0.5:6379', () => now);
  const connections = [new EventEmitter(), new EventEmitter(), new EventEmitter()];
  for (const c of connections) log.watch(c as unknown as Redis);
  for (const delay of [200, 400, 800, 1600, 3200]) {
    for (const c of connections) {
      c.emit('error', Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:6379'), { code: 'ECONNREFUSED' }));
      log.report(new Error('Connection is closed.'), { queue: 'generation' }, 'worker error');
      c.emit('reconnecting', delay);
    }
    now += delay;
  }
  connections[0].emit('ready');
  connections[1].emit('ready');
  // Retries at 0, 200, 600, 1400 and 3000 ms: lines at 0, then 1400 (the first retry at least 1 s later), then 3000 (1.6 s later).
  expect(lines.map((l) => [l.level, l.fields.retry_in_ms])).toEqual([
    ['warn', 200],
    ['warn', 1600],
    ['warn', 3200],
    ['info', undefined],
  ]);
  expect(lines[0].msg).toBe(
    'redis unreachable at redis://:***@10.0.0.5:6379 (connect ECONNREFUSED 10.0.0.5:6379); next retry in 200 ms',
  );
  expect(lines[3].msg).toBe('redis reachable again at redis://:***@10.0.0.5:6379');
});

test('other errors are logged, the same one again at most every 10 s', () => {
  let now = 0;
  const { lines, logger } = fakeLogger();
  const log = createRedisErrorLog(logger, 'redis://127.0.0.1:6379', () => now);
  for (let i = 0; i < 50; i++, now += 500)
    log.report(new Error('OOM command not allowed'), { queue: 'batch' }, 'worker error');
  expect(lines.map((l) => l.fields.repeated)).toEqual([undefined, 19, 19]);
  expect(lines[0]).toMatchObject({ msg: 'worker error', fields: { queue: 'batch', err: 'OOM command not allowed' } });
});
