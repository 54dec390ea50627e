import { postJson, requestJson, waitForJob } from '../helpers/api-client';
import { startStack, type Stack } from '../helpers/stack';
import { LONG_GENERATION } from '../helpers/long-job';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ noWorkers: true });
});
afterAll(async () => {
  await stack?.stop();
});

const cancel = (id: string) => requestJson(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE' });

test('a queued job canceled before any worker runs it ends canceled', async () => {
  const res = await postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn', n: 2 });
  expect(res).toMatchObject({ status: 202, body: { status: 'queued' } });
  const canceled = await cancel(res.body.id);
  expect(canceled.status).toBe(202);
  expect(canceled.body.status).toBe('canceled');
  expect((await requestJson(`${stack.url}/v1/jobs/${res.body.id}`)).body.status).toBe('canceled');
  // Workers start later: they must not run it.
  await stack.addWorker();
  await stack.addWorker();
  const job = await waitForJob(stack.url, res.body.id);
  expect(job).toMatchObject({ status: 'canceled', error: { code: 'canceled' } });
  expect(job.result).toBeUndefined();
  expect((await requestJson(`${stack.url}/v1/jobs/${res.body.id}/archive`)).status).toBe(409);
});

test('a running job is canceled in whichever worker process runs it', async () => {
  expect(stack.workers).toHaveLength(2);
  const res = await postJson(`${stack.url}/v1/generations`, LONG_GENERATION);
  const id = res.body.id;
  for (;;) {
    const { body } = await requestJson(`${stack.url}/v1/jobs/${id}`);
    if (body.status === 'running') break;
    expect(body.status).toBe('queued');
    await new Promise((r) => setTimeout(r, 10));
  }
  expect((await cancel(id)).status).toBe(202);
  const job = await waitForJob(stack.url, id);
  expect(job).toMatchObject({ status: 'canceled', error: { code: 'canceled' } });
  expect(job.progress).toBeLessThan(1);
  // Both workers are still alive and serving.
  for (const w of stack.workers) expect(w.child.exitCode).toBeNull();
  const after = await postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn', n: 1 });
  expect((await waitForJob(stack.url, after.body.id)).status).toBe('succeeded');
});

test('finished jobs cannot be canceled', async () => {
  const res = await postJson(`${stack.url}/v1/generations`, { model: 'omori-sprite-gan' });
  await waitForJob(stack.url, res.body.id);
  const again = await cancel(res.body.id);
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('job_finished');
});
