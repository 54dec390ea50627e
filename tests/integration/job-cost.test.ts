import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { postJson } from '../helpers/api-client';
import { startStack, type Stack } from '../helpers/stack';

/** MAX_JOB_MEGAPIXEL_STEPS (default 1000): width x height x steps x n / 10^6 per job, and per batch summed. */

let stack: Stack;
beforeAll(async () => {
  // Refused requests never reach a worker; the accepted ones only need to be queued.
  stack = await startStack({ noWorkers: true });
});
afterAll(async () => {
  await stack?.stop();
});

const diffusion = { model: 'demo-diffusion', width: 1024, height: 1024 };
const refusal = (res: { status: number; body: any }) => ({
  status: res.status,
  code: res.body.error?.code,
  message: res.body.error?.message,
  field: res.body.error?.details?.[0]?.field,
});

test('one job over the limit is refused naming its cost and the limit; the largest default-sized one is accepted', async () => {
  // 1024 x 1024 x 150 steps x 16 images = 2516.6 megapixel-steps.
  const over = await postJson(`${stack.url}/v1/generations`, { ...diffusion, steps: 150, n: 16 });
  expect(refusal(over)).toEqual({
    status: 422,
    code: 'job_too_expensive',
    message: expect.stringMatching(/costs 2516\.6 megapixel-steps.*the limit is 1000 \(MAX_JOB_MEGAPIXEL_STEPS\)/),
    field: undefined,
  });
  // 1024 x 1024 x 50 steps x 16 images = 838.9: under it.
  expect((await postJson(`${stack.url}/v1/generations`, { ...diffusion, steps: 50, n: 16 })).status).toBe(202);
});

test('a batch whose items each fit but together do not is refused whole', async () => {
  const item = { type: 'generation', ...diffusion, steps: 50, n: 16 };
  const res = await postJson(`${stack.url}/v1/batches`, { requests: [item, item] });
  expect(refusal(res)).toEqual({
    status: 422,
    code: 'job_too_expensive',
    message: expect.stringMatching(/2 generations cost 1677\.7 megapixel-steps.*the limit is 1000/),
    field: 'requests',
  });
  const single = await postJson(`${stack.url}/v1/batches`, { requests: [{ ...item, steps: 150 }] });
  expect(refusal(single)).toMatchObject({ status: 422, code: 'job_too_expensive', field: 'requests.0' });
  expect(
    (await postJson(`${stack.url}/v1/batches`, { requests: [item, { type: 'generation', model: 'demo-cppn' }] }))
      .status,
  ).toBe(202);
});

test('image-to-image is costed at the input size, and its staged input is removed when refused', async () => {
  const image = (
    await sharp({ create: { width: 1000, height: 1000, channels: 3, background: 'gray' } })
      .png()
      .toBuffer()
  ).toString('base64');
  // 1000 x 1000 x 150 steps x 16 images = 2400.
  const over = await postJson(`${stack.url}/v1/image-to-image`, { model: 'demo-diffusion', image, steps: 150, n: 16 });
  expect(refusal(over)).toMatchObject({
    status: 422,
    code: 'job_too_expensive',
    message: expect.stringContaining('costs 2400 megapixel-steps'),
  });
  const jobs = path.join(stack.dataDir, 'blobs', 'jobs');
  const staged = fs.existsSync(jobs) ? fs.readdirSync(jobs).filter((d) => d.startsWith('i2i_')) : [];
  expect(staged).toEqual([]);
  expect(
    (await postJson(`${stack.url}/v1/image-to-image`, { model: 'demo-diffusion', image, steps: 20, n: 2 })).status,
  ).toBe(202);
});
