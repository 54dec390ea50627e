import { fetchBuffer, postJson, requestJson, waitForJob } from '../helpers/api-client';
import { startTestCluster, type TestCluster } from '../helpers/redis-cluster';
import { startStackOn, type Stack } from '../helpers/stack';
import { readZip } from '../helpers/zip-reader';
import { LONG_GENERATION } from '../helpers/long-job';

/**
 * darkroom on a real three-master Redis Cluster (REDIS_CLUSTER_NODES): the submit, poll, cancel,
 * batch and zip paths of the integration suite. Every key darkroom and BullMQ write carries the
 * `{darkroom}` hash tag, so it all lives in one slot (batches are flows across queues, which
 * BullMQ updates in one script); the other masters hold none of it.
 */
let cluster: TestCluster;
let stack: Omit<Stack, 'redis'>;
beforeAll(async () => {
  cluster = await startTestCluster();
  stack = await startStackOn(cluster, { noWorkers: true });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
});

const cancel = (id: string) => requestJson(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE' });

test('a job queued with no worker can be polled and canceled; workers started later do not run it', async () => {
  const res = await postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn', n: 2 });
  expect(res).toMatchObject({ status: 202, body: { status: 'queued' } });
  expect((await requestJson(`${stack.url}/v1/jobs/${res.body.id}`)).body).toMatchObject({ status: 'queued' });
  const canceled = await cancel(res.body.id);
  expect(canceled).toMatchObject({ status: 202, body: { status: 'canceled' } });
  await stack.addWorker();
  await stack.addWorker();
  expect(await waitForJob(stack.url, res.body.id)).toMatchObject({ status: 'canceled', error: { code: 'canceled' } });
});

test('submit, poll to the end, and download one image and the job zip', async () => {
  const res = await postJson(`${stack.url}/v1/generations`, { model: 'demo-cppn', n: 2, seed: 5, prompt: 'cluster' });
  expect(res.status).toBe(202);
  const job = await waitForJob(stack.url, res.body.id);
  expect(job).toMatchObject({ status: 'succeeded', attempts_made: 1 });
  const image = await fetchBuffer(`${stack.url}${job.result.images[0].url}`);
  expect(image).toMatchObject({ status: 200 });
  const zip = await fetchBuffer(`${stack.url}/v1/jobs/${job.id}/archive`);
  expect(zip.status).toBe(200);
  const files = readZip(zip.data);
  expect(files.map((f) => f.name)).toEqual(['image-000.png', 'image-001.png', 'manifest.json']);
  expect(files[0].data.equals(image.data)).toBe(true);
});

test('a running job is canceled in whichever worker runs it (the cancel reaches it by pub/sub on the cluster)', async () => {
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
});

test('a batch across two queues (a flow) succeeds, and one zip holds every child', async () => {
  const res = await postJson(`${stack.url}/v1/batches`, {
    requests: [
      { type: 'generation', model: 'demo-cppn', n: 1, seed: 1, prompt: 'a' },
      { type: 'generation', model: 'demo-cppn', n: 2, seed: 2, prompt: 'b' },
    ],
  });
  expect(res.status).toBe(202);
  const batch = await waitForJob(stack.url, res.body.id, 120_000, 'batches');
  expect(batch.status).toBe('succeeded');
  expect(batch.jobs.map((j: { status: string }) => j.status)).toEqual(['succeeded', 'succeeded']);
  const zip = await fetchBuffer(`${stack.url}/v1/batches/${batch.id}/archive`);
  expect(zip.status).toBe(200);
  expect(readZip(zip.data).filter((f) => f.name.endsWith('.png'))).toHaveLength(3);
});

test("every key darkroom wrote is in the {darkroom} hash tag's slot, on one master", async () => {
  const perNode = [...(await cluster.keysPerNode()).values()];
  const all = perNode.flat();
  expect(all.length).toBeGreaterThan(10);
  expect(all.filter((k) => !k.startsWith('{darkroom}:'))).toEqual([]);
  expect(perNode.filter((keys) => keys.length > 0)).toHaveLength(1);
});
