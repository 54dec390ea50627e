import { postJson, requestJson, waitForJob } from '../helpers/api-client';
import { openEventStream, type SseEvent } from '../helpers/sse-client';
import { startStack, type Stack } from '../helpers/stack';
import { LONG_GENERATION } from '../helpers/long-job';

/**
 * Live progress as clients see it: the job event stream (SSE), `Prefer: wait`, and queue_position /
 * eta_seconds. The API and the worker are separate processes that share only Redis; the stack
 * starts without a worker so that jobs can be held in the queue, and one is added later.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ noWorkers: true, env: { SSE_HEARTBEAT_SECONDS: '1', MAX_PREFER_WAIT_SECONDS: '20' } });
});
afterAll(async () => {
  await stack?.stop();
});

/** Jobs submitted while no worker runs, in the order they were queued. */
const queued: string[] = [];

const cppn = (extra: Record<string, string> = {}) =>
  postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn', n: 1 }, extra);
const idOrder = (a: string, b: string) => {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am - bm || as - bs;
};

test('an unknown job has no event stream: 404', async () => {
  const missing = await requestJson(`${stack.url}/v1/jobs/gen_00000000-0000-4000-8000-000000000000/events`);
  expect(missing.status).toBe(404);
  expect(missing.body.error.code).toBe('not_found');
  expect((await requestJson(`${stack.url}/v1/jobs/not-a-job/events`)).status).toBe(404);
});

test('queued jobs show their place in line (0 = next); with no worker the ETA is unknown', async () => {
  for (let i = 0; i < 3; i++) {
    const res = await cppn();
    expect(res.status).toBe(202);
    queued.push(res.body.id);
  }
  const views = await Promise.all(queued.map(async (id) => (await requestJson(`${stack.url}/v1/jobs/${id}`)).body));
  expect(views.map((v) => [v.status, v.queue_position, v.eta_seconds])).toEqual([
    ['queued', 0, null],
    ['queued', 1, null],
    ['queued', 2, null],
  ]);
});

test('Prefer: wait=1 on a job no worker can run answers the usual 202 after the wait', async () => {
  const started = Date.now();
  const res = await cppn({ prefer: 'wait=1' });
  const elapsed = Date.now() - started;
  expect(res.status).toBe(202);
  expect(res.headers.get('preference-applied')).toBe('wait=1');
  expect(res.body).toMatchObject({ status: 'queued', queue_position: 3, eta_seconds: null });
  expect(elapsed).toBeGreaterThanOrEqual(900);
  queued.push(res.body.id);
  const plain = await cppn();
  expect(plain.status).toBe(202);
  expect(plain.headers.get('preference-applied')).toBeNull();
  queued.push(plain.body.id);
});

test('the event stream follows a job from the queue to its end, across API and worker processes; Last-Event-ID resumes', async () => {
  const submitted = await postJson(`${stack.url}/v1/generations`, {
    model: 'demo-diffusion',
    steps: 30,
    n: 1,
    width: 64,
    height: 64,
  });
  expect(submitted.status).toBe(202);
  const id = submitted.body.id;
  const url = `${stack.url}/v1/jobs/${id}/events`;
  const full = await openEventStream(url);
  const partial = await openEventStream(url);
  expect(full.status).toBe(200);
  expect(full.headers.get('content-type')).toContain('text/event-stream');
  const first = await full.next();
  expect(first).toMatchObject({ event: 'status', data: { status: 'queued' } });
  expect(first!.id).toMatch(/^\d+-\d+$/);
  // Keep-alive comments while nothing happens (SSE_HEARTBEAT_SECONDS=1 here).
  const deadline = Date.now() + 10_000;
  while (full.comments() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(full.comments()).toBeGreaterThanOrEqual(1);

  await stack.addWorker({ WORKER_CONCURRENCY: '1' });

  // One client reads part of the stream and goes away...
  let seen: SseEvent | undefined;
  for (let e = await partial.next(60_000); e; e = await partial.next(60_000)) {
    if (e.event === 'progress' && e.data.step >= 10) {
      seen = e;
      break;
    }
  }
  partial.close();
  expect(seen).toBeDefined();

  // ...the other reads it to the end.
  const events = [first!, ...(await full.rest(90_000))];
  for (const e of events) expect(e.id).toMatch(/^\d+-\d+$/);
  expect(events.map((e) => e.id!)).toEqual([...events.map((e) => e.id!)].sort(idOrder));
  const statuses = events.filter((e) => e.event === 'status').map((e) => e.data.status);
  expect(statuses).toEqual(['queued', 'running', 'succeeded']);
  const steps = events.filter((e) => e.event === 'progress').map((e) => e.data.step);
  expect(steps.length).toBeGreaterThanOrEqual(10);
  for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeGreaterThan(steps[i - 1]);
  expect(steps[steps.length - 1]).toBe(30);
  expect(events.find((e) => e.event === 'progress')!.data.steps).toBe(30);
  const last = events[events.length - 1];
  expect(last.event).toBe('job');
  expect(last.data).toMatchObject({ id, status: 'succeeded', progress: 1, model: 'demo-diffusion' });
  expect(last.data.result.images).toHaveLength(1);
  expect(last.data).not.toHaveProperty('queue_position');

  // Reconnecting with the last id it saw, the first client is sent exactly what it missed.
  const resumed = await openEventStream(url, { 'Last-Event-ID': seen!.id! });
  const replayed = await resumed.rest(30_000);
  const missed = events.filter((e) => idOrder(e.id!, seen!.id!) > 0);
  expect(replayed.map((e) => [e.event, e.id])).toEqual(missed.map((e) => [e.event, e.id]));
  expect(replayed.filter((e) => e.event === 'progress').every((e) => e.data.step > seen!.data.step)).toBe(true);
  expect(replayed[replayed.length - 1]).toMatchObject({ event: 'job', data: { id, status: 'succeeded' } });

  // Reconnecting after the final event: nothing more will come, and 204 tells an EventSource to stop.
  const after = await fetch(url, { headers: { 'Last-Event-ID': last.id! } });
  expect(after.status).toBe(204);

  // Every job queued before it ran first, in order.
  for (const earlier of queued) expect((await waitForJob(stack.url, earlier)).status).toBe('succeeded');
});

test('a finished job streams its final job event at once, then the stream ends', async () => {
  const id = queued[0];
  const stream = await openEventStream(`${stack.url}/v1/jobs/${id}/events`);
  const events = await stream.rest(10_000);
  expect(events.map((e) => e.event)).toEqual(['status', 'job']);
  expect(events[0].data).toEqual({ status: 'succeeded' });
  expect(events[1].data).toMatchObject({
    id,
    status: 'succeeded',
    result: { images: [expect.objectContaining({ index: 0 })] },
  });
});

test('Prefer: wait=N answers 200 with the finished job (N capped by MAX_PREFER_WAIT_SECONDS), for batches too', async () => {
  const res = await cppn({ prefer: 'respond-async, wait=30' });
  expect(res.status).toBe(200);
  expect(res.headers.get('preference-applied')).toBe('wait=20');
  expect(res.headers.get('location')).toBe(`/v1/jobs/${res.body.id}`);
  expect(res.body).toMatchObject({ status: 'succeeded', progress: 1 });
  expect(res.body.result.images).toHaveLength(1);

  const batch = await postJson(
    `${stack.url}/v1/batches`,
    {
      requests: [
        { type: 'generation', model: 'demo-cppn' },
        { type: 'generation', model: 'demo-cppn', prompt: 'two' },
      ],
    },
    { prefer: 'wait=20' },
  );
  expect(batch.status).toBe(200);
  expect(batch.body).toMatchObject({ status: 'succeeded', counts: { succeeded: 2 } });
});

test('with a worker and measured runs, queued and running jobs get an ETA; finished ones drop both fields', async () => {
  // The worker runs one job of a model queue at a time (WORKER_CONCURRENCY=1; jobs are routed by
  // model, docs/scaling.md): a long demo-diffusion job keeps it busy while two more of that model
  // wait. The API shows queued jobs' ETAs up to about a second after they are queued, so the long
  // job is LONG_GENERATION, several seconds even on a fast machine (16 demo-cppn images at
  // 1024x1024 once ended before the ETAs showed). It is cancelled, between two steps, once seen.
  const diffusion = (extra: Record<string, unknown> = {}) =>
    postJson(`${stack.url}/v1/generations`, { model: 'demo-diffusion', steps: 2, width: 64, height: 64, ...extra });
  // A short run first: the measured averages the ETAs come from.
  expect((await waitForJob(stack.url, (await diffusion()).body.id)).status).toBe('succeeded');
  const long = await postJson(`${stack.url}/v1/generations`, LONG_GENERATION);
  expect(long.status).toBe(202);
  const next = await diffusion();
  const after = await diffusion();
  const ids = [long.body.id, next.body.id, after.body.id];
  let views: any[];
  const deadline = Date.now() + 60_000;
  for (;;) {
    views = await Promise.all(ids.map(async (id) => (await requestJson(`${stack.url}/v1/jobs/${id}`)).body));
    if (views[0].status === 'running' && views.every((v) => typeof v.eta_seconds === 'number')) break;
    if (views[0].status !== 'queued' && views[0].status !== 'running')
      throw new Error(`the long job ended before it could be observed: ${JSON.stringify(views)}`);
    if (Date.now() > deadline) throw new Error(`no ETAs within 60 s: ${JSON.stringify(views)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(views.map((v) => [v.status, v.queue_position])).toEqual([
    ['running', null],
    ['queued', 0],
    ['queued', 1],
  ]);
  // The queued jobs wait for the running one: their estimates include what it has left.
  expect(views[0].eta_seconds).toBeGreaterThanOrEqual(0);
  expect(views[1].eta_seconds).toBeGreaterThanOrEqual(views[0].eta_seconds);
  expect(views[2].eta_seconds).toBeGreaterThanOrEqual(views[1].eta_seconds);

  expect((await requestJson(`${stack.url}/v1/jobs/${ids[0]}`, { method: 'DELETE' })).status).toBe(202);
  for (const id of ids.slice(1)) {
    const done = await waitForJob(stack.url, id);
    expect(done.status).toBe('succeeded');
    expect(done).not.toHaveProperty('queue_position');
    expect(done).not.toHaveProperty('eta_seconds');
  }
});
