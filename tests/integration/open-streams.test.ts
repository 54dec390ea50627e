import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { postJson, requestJson } from '../helpers/api-client';
import { openEventStream, type SseStream } from '../helpers/sse-client';
import { startStack, type Stack } from '../helpers/stack';

/**
 * Open event streams and waits (issue 9, item 11): each key holds at most MAX_OPEN_STREAMS_PER_KEY
 * of them, and the OpenAI route waits on the event hub instead of polling Redis.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('open streams and waits per key', () => {
  const ALICE = 'alice-streams-000000000001';
  const BOB = 'bob-streams-00000000000002';
  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  let stack: Stack;
  let connection: Redis;
  let queue: Queue;
  beforeAll(async () => {
    stack = await startStack({
      noWorkers: true,
      env: {
        API_KEYS: `alice:${ALICE},bob:${BOB}`,
        MAX_OPEN_STREAMS_PER_KEY: '3',
        OPENAI_WAIT_SECONDS: '90',
        MAX_PREFER_WAIT_SECONDS: '30',
      },
    });
    connection = new Redis(stack.redis.url, { maxRetriesPerRequest: null });
    queue = new Queue('generation@demo-cppn', { connection, prefix: 'darkroom' }); // jobs queue per model
  });
  afterAll(async () => {
    await queue?.close();
    connection?.disconnect();
    await stack?.stop();
  });

  const queued = () => queue.getJobCountByTypes('wait', 'prioritized');

  test('a key holding MAX_OPEN_STREAMS_PER_KEY streams gets 429 too_many_streams for more; other keys do not', async () => {
    const job = await postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn' }, as(ALICE));
    expect(job.status).toBe(202);
    const events = `${stack.url}/v1/jobs/${job.body.id}/events`;
    const streams: SseStream[] = [];
    for (let i = 0; i < 3; i++) {
      const stream = await openEventStream(events, as(ALICE));
      streams.push(stream);
      expect(stream.status).toBe(200);
      expect((await stream.next(5000))?.event).toBe('status');
    }
    const fourth = await requestJson(events, { headers: { ...as(ALICE), accept: 'text/event-stream' } });
    expect({ status: fourth.status, code: fourth.body?.error?.code }).toEqual({
      status: 429,
      code: 'too_many_streams',
    });
    expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThan(0);

    // The OpenAI route waits too: refused in OpenAI's shape, before any job is made.
    const before = await queued();
    const openai = await postJson(`${stack.url}/v1/images/generations`, { model: 'demo-cppn', prompt: 'x' }, as(ALICE));
    expect(openai).toMatchObject({
      status: 429,
      body: { error: { type: 'invalid_request_error', code: 'too_many_streams' } },
    });
    expect(await queued()).toBe(before);

    // `Prefer: wait` is a preference: the job is accepted without the wait.
    const started = Date.now();
    const preferred = await postJson(
      `${stack.url}/v1/generations`,
      { model: 'demo-cppn' },
      { ...as(ALICE), prefer: 'wait=20' },
    );
    expect({
      status: preferred.status,
      applied: preferred.headers.get('preference-applied'),
      quick: Date.now() - started < 5000,
    }).toEqual({ status: 202, applied: null, quick: true });

    // Counted per key: bob is not held back by alice's streams.
    const bobJob = await postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn' }, as(BOB));
    const bobs = await openEventStream(`${stack.url}/v1/jobs/${bobJob.body.id}/events`, as(BOB));
    expect(bobs.status).toBe(200);
    bobs.close();

    // A closed stream frees its slot.
    streams.pop()!.close();
    let again: SseStream | undefined;
    for (let i = 0; i < 20 && !again; i++) {
      const s = await openEventStream(events, as(ALICE));
      if (s.status === 200) again = s;
      else await sleep(100);
    }
    expect(again?.status).toBe(200);
    for (const s of [...streams, again!]) s.close();
  });

  test('the OpenAI route waits on the event hub: waiting requests cost Redis (almost) nothing, and answer when their jobs finish', async () => {
    const counter = new Redis(stack.redis.url);
    const commands = async () => Number(/total_commands_processed:(\d+)/.exec(await counter.info('stats'))![1]);
    try {
      await sleep(1000);
      const b0 = await commands();
      await sleep(3000);
      const idle = (await commands()) - b0;

      const before = await queued();
      const requests = Array.from({ length: 3 }, (_, i) =>
        postJson(
          `${stack.url}/v1/images/generations`,
          { model: 'demo-cppn', prompt: 'a lighthouse', size: '64x64', seed: i },
          as(BOB),
        ),
      );
      while ((await queued()) < before + 3) await sleep(50);
      await sleep(500);
      const w0 = await commands();
      await sleep(3000);
      const waiting = (await commands()) - w0;
      console.log(JSON.stringify({ redisCommandsIn3s: { idle, threeOpenAiWaits: waiting } }));
      // Polling twice a second, three requests would make well over 50 commands in 3 s.
      expect({ idle, waiting, extra: waiting - idle, cheap: waiting - idle < 20 }).toEqual({
        idle,
        waiting,
        extra: waiting - idle,
        cheap: true,
      });

      await stack.addWorker();
      const answers = await Promise.all(requests);
      for (const a of answers)
        expect({ status: a.status, images: a.body.data?.length }).toEqual({ status: 200, images: 1 });
    } finally {
      counter.disconnect();
    }
  }, 180_000);
});
