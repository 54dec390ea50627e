import { ConnectionClosedError } from 'bullmq';
import express from 'express';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';
import request from 'supertest';
import { z } from 'zod';
import { AppError } from '../../src/errors';
import { createErrorHandler, validationError } from '../../src/http/error-handler';
import type { Logger } from '../../src/logger';
import { createRedis } from '../../src/redis/redis-connection';

/** An app whose one route throws `err`, with the error handler under test and a logger that records. */
function appThrowing(err: unknown) {
  const logged: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => logged.push({ level, fields, msg });
  const logger = { error: at('error'), warn: at('warn'), info: at('info') } as unknown as Logger;
  const app = express();
  app.get('/boom', () => {
    throw err;
  });
  app.use(createErrorHandler(logger));
  return { app, logged };
}

/** What ioredis really rejects a command with on an API connection (no offline queue) that never reached Redis. */
async function ioredisOfflineError(): Promise<unknown> {
  const redis = createRedis('redis://127.0.0.1:1', 'api', { retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    return await redis.get('anything').then(
      () => new Error('expected the command to fail'),
      (err: unknown) => err,
    );
  } finally {
    redis.disconnect();
  }
}

test('an unexpected error answers 500 internal_error without its message, and is logged exactly once, with what was thrown', async () => {
  const thrown = new TypeError('secret internals');
  const { app, logged } = appThrowing(thrown);
  const res = await request(app).get('/boom');
  expect(res.status).toBe(500);
  expect(res.body).toEqual({ error: { code: 'internal_error', message: 'an internal error occurred' } });
  expect(logged).toHaveLength(1);
  expect(logged[0]).toMatchObject({ level: 'error', msg: 'server error', fields: { err: thrown } });
});

test.each([
  ['ioredis: max retries per request (typed)', () => new MaxRetriesPerRequestError(1)],
  ['BullMQ: connection closed (typed)', () => new ConnectionClosedError()],
  [
    'a socket error code (ECONNREFUSED)',
    () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }),
  ],
  ['ioredis: command on a closed connection (untyped)', () => new Error('Connection is closed.')],
  ['ioredis: command while offline, as a real client rejects it', ioredisOfflineError],
])('Redis down (%s) answers 503 redis_unavailable with Retry-After: 5, and is not logged', async (_what, make) => {
  const { app, logged } = appThrowing(await make());
  const res = await request(app).get('/boom');
  expect(res.status).toBe(503);
  expect(res.headers['retry-after']).toBe('5');
  expect(res.body.error.code).toBe('redis_unavailable');
  expect(logged).toEqual([]);
});

test('Redis is recognised by error type or code, not by words in a message: other errors naming it are 500s', async () => {
  const { app, logged } = appThrowing(new Error('ECONNREFUSED mentioned by something that is not a socket'));
  expect((await request(app).get('/boom')).status).toBe(500);
  expect(logged).toHaveLength(1);
});

test('an AppError answers its own status, code, message, details and headers; a 4xx is not logged', async () => {
  const { app, logged } = appThrowing(
    new AppError(429, 'too_many_jobs_in_flight', 'slow down', { limit: 2 }, { 'Retry-After': '10' }),
  );
  const res = await request(app).get('/boom');
  expect(res.status).toBe(429);
  expect(res.headers['retry-after']).toBe('10');
  expect(res.body).toEqual({ error: { code: 'too_many_jobs_in_flight', message: 'slow down', details: { limit: 2 } } });
  expect(logged).toEqual([]);
});

test('a deliberate 5xx AppError other than 503 is logged once; a 503 (queue full) is not', async () => {
  const failed = appThrowing(new AppError(500, 'job_failed', 'the job failed'));
  expect((await request(failed.app).get('/boom')).status).toBe(500);
  expect(failed.logged.map((l) => l.msg)).toEqual(['server error']);
  const full = appThrowing(new AppError(503, 'queue_full', 'full', undefined, { 'Retry-After': '30' }));
  expect((await request(full.app).get('/boom')).headers['retry-after']).toBe('30');
  expect(full.logged).toEqual([]);
});

test('body-parser errors map to 413, 400 invalid_json and 415; other 4xx errors to bad_request with their status', async () => {
  const cases: [unknown, number, string][] = [
    [Object.assign(new Error('too big'), { type: 'entity.too.large', status: 413 }), 413, 'payload_too_large'],
    [Object.assign(new Error('Unexpected token'), { type: 'entity.parse.failed', status: 400 }), 400, 'invalid_json'],
    [
      Object.assign(new Error('unsupported charset "X"'), { type: 'charset.unsupported', status: 415 }),
      415,
      'unsupported_encoding',
    ],
    [Object.assign(new Error('range not satisfiable'), { status: 416 }), 416, 'bad_request'],
  ];
  for (const [err, status, code] of cases) {
    const res = await request(appThrowing(err).app).get('/boom');
    expect([res.status, res.body.error.code]).toEqual([status, code]);
  }
});

test('a zod error becomes 422 validation_error with one detail per bad field', () => {
  const parsed = z
    .object({ n: z.number(), size: z.object({ width: z.number() }) })
    .safeParse({ n: 'x', size: { width: null } });
  const err = validationError(parsed.error!, ['body']);
  expect(err).toMatchObject({ status: 422, code: 'validation_error' });
  expect((err.details as { field: string }[]).map((d) => d.field)).toEqual(['body.n', 'body.size.width']);
});

test('an error after the response started cuts the connection instead of writing a second response', async () => {
  const logged: string[] = [];
  const logger = { error: (_f: unknown, msg: string) => logged.push(msg) } as unknown as Logger;
  const app = express();
  app.get('/half', (_req, res, next) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('partial');
    next(new Error('stream broke'));
  });
  app.use(createErrorHandler(logger));
  await expect(request(app).get('/half')).rejects.toThrow();
  expect(logged).toEqual(['server error']);
});
