import { Queue } from 'bullmq';
import http from 'node:http';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import sharp from 'sharp';
import { fetchBuffer, postJson, requestJson, waitForJob } from '../helpers/api-client';
import { startStack, type Stack } from '../helpers/stack';

/** POST /v1/images/generations driven by OpenAI's official client library. */

const JOB_ID = /gen_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** What the client throws, for assertions (it must be one of the library's APIErrors). */
async function apiError(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.APIError);
  return err as InstanceType<typeof OpenAI.APIError>;
}

describe('with a worker', () => {
  let stack: Stack;
  let client: OpenAI;
  beforeAll(async () => {
    stack = await startStack({ env: { TRUST_PROXY: 'loopback' } });
    client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'unused' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('b64_json: n base64 PNGs of the requested size', async () => {
    const res = await client.images.generate({
      model: 'demo-cppn',
      prompt: 'a lighthouse',
      n: 2,
      size: '256x256',
      response_format: 'b64_json',
    });
    expect(res.data).toHaveLength(2);
    const images = res.data!.map((d) => Buffer.from(d.b64_json!, 'base64'));
    for (const data of images) {
      const meta = await sharp(data).metadata();
      expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual({
        format: 'png',
        width: 256,
        height: 256,
      });
    }
    expect(images[0].equals(images[1])).toBe(false);
    expect(Math.abs(res.created - Date.now() / 1000)).toBeLessThan(120);
  });

  test("url: absolute URLs of the job's images, which is an ordinary job", async () => {
    const res = await client.images.generate({
      model: 'demo-cppn',
      prompt: 'a lighthouse',
      n: 2,
      size: '512x512',
      output_format: 'webp',
    });
    expect(res.data).toHaveLength(2);
    for (const [i, { url }] of res.data!.entries()) {
      expect(url).toMatch(new RegExp(`^${stack.url}/v1/jobs/${JOB_ID.source}/images/${i}$`));
      const image = await fetchBuffer(url!);
      expect(image.headers.get('content-type')).toBe('image/webp');
      const meta = await sharp(image.data).metadata();
      expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual({
        format: 'webp',
        width: 512,
        height: 512,
      });
    }
    const id = JOB_ID.exec(res.data![0].url!)![0];
    const job = await requestJson(`${stack.url}/v1/jobs/${id}`);
    expect(job.body).toMatchObject({
      type: 'generation',
      status: 'succeeded',
      model: 'demo-cppn',
      params: { prompt: 'a lighthouse', n: 2, width: 512, height: 512, output_format: 'webp' },
    });
  });

  test('URLs follow X-Forwarded-Proto and X-Forwarded-Host from a proxy TRUST_PROXY names (here loopback)', async () => {
    const res = await client.images.generate(
      { model: 'demo-cppn', prompt: 'a lighthouse', size: '256x256' },
      { headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'images.example.com' } },
    );
    expect(res.data![0].url).toMatch(new RegExp(`^https://images\\.example\\.com/v1/jobs/${JOB_ID.source}/images/0$`));
  });

  test('Idempotency-Key: the same key and body give the same job; another body is 422 idempotency_key_reused', async () => {
    const body = { model: 'demo-cppn', prompt: 'a lighthouse', size: '64x64' };
    const headers = { 'idempotency-key': 'openai-order-1' };
    const first = await postJson(`${stack.url}/v1/images/generations`, body, headers);
    const again = await postJson(`${stack.url}/v1/images/generations`, body, headers);
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(JOB_ID.exec(again.body.data[0].url)![0]).toBe(JOB_ID.exec(first.body.data[0].url)![0]);
    const other = await postJson(`${stack.url}/v1/images/generations`, { ...body, prompt: 'a harbour' }, headers);
    expect(other).toMatchObject({
      status: 422,
      body: { error: { type: 'invalid_request_error', code: 'idempotency_key_reused' } },
    });
  });

  test('an OpenAI model name (or none) means the default generation model; darkroom extras pass through', async () => {
    const { body } = await requestJson(`${stack.url}/v1/models`);
    const expected = (
      body.models.find((m: any) => m.kind === 'diffusion') ?? body.models.find((m: any) => m.kind === 'generator')
    ).name;
    const res = await client.images.generate({
      model: 'dall-e-2',
      prompt: 'a lighthouse',
      size: '128x128',
      seed: 5,
      steps: 4,
    } as any);
    const id = JOB_ID.exec(res.data![0].url!)![0];
    expect((await requestJson(`${stack.url}/v1/jobs/${id}`)).body).toMatchObject({
      model: expected,
      params: { seed: 5, width: 128, height: 128 },
    });
  });

  test.each([
    ['4096x4096', 'size', 'size_out_of_range'],
    ['huge', 'size', 'validation_error'],
    ['4x4', 'size', 'validation_error'],
  ])('size %s: a 422 APIError naming the field', async (size, param, code) => {
    const err = await apiError(client.images.generate({ model: 'demo-cppn', prompt: 'a lighthouse', size } as any));
    expect(err).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect({ status: err.status, param: err.param, code: err.code, type: err.type }).toEqual({
      status: 422,
      param,
      code,
      type: 'invalid_request_error',
    });
    expect(err.message).toMatch(/^422 .*size/);
  });

  test('other invalid requests: unknown model, no prompt, unknown field, malformed JSON', async () => {
    const unknown = await apiError(client.images.generate({ model: 'no-such-model', prompt: 'x' }));
    expect({ status: unknown.status, param: unknown.param, code: unknown.code }).toEqual({
      status: 422,
      param: 'model',
      code: 'unknown_model',
    });
    expect(unknown.message).toContain('no-such-model');
    const noPrompt = await apiError(client.images.generate({ model: 'demo-cppn' } as any));
    expect({ status: noPrompt.status, param: noPrompt.param }).toEqual({ status: 422, param: 'prompt' });
    const extra = await apiError(client.images.generate({ model: 'demo-cppn', prompt: 'x', widht: 5 } as any));
    expect({ status: extra.status, param: extra.param }).toEqual({ status: 422, param: null });
    expect(extra.message).toContain('widht');
    const malformed = await requestJson(`${stack.url}/v1/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"prompt": ',
    });
    expect(malformed).toMatchObject({
      status: 400,
      body: { error: { type: 'invalid_request_error', param: null, code: 'invalid_json' } },
    });
    // The rest of the API keeps darkroom's own error shape.
    const other = await postJson(`${stack.url}/v1/generations`, { n: 100 });
    expect(other.body.error).toEqual({
      code: 'validation_error',
      message: expect.any(String),
      details: [{ field: 'n', message: expect.any(String) }],
    });
  });
});

describe('when the job does not succeed within OPENAI_WAIT_SECONDS', () => {
  let stack: Stack;
  let client: OpenAI;
  let connection: Redis;
  let queue: Queue;
  beforeAll(async () => {
    // No worker at first, so a job cannot finish while its request waits.
    stack = await startStack({ noWorkers: true, env: { OPENAI_WAIT_SECONDS: '2' } });
    client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'unused' });
    connection = new Redis(stack.redis.url, { maxRetriesPerRequest: null });
    queue = new Queue('generation@demo-cppn', { connection, prefix: 'darkroom' });
  });
  afterAll(async () => {
    await queue?.close();
    connection?.disconnect();
    await stack?.stop();
  });

  test('a job canceled while the request waits: a 409 naming the job', async () => {
    const call = apiError(client.images.generate({ model: 'demo-cppn', prompt: 'a lighthouse' }));
    let waiting;
    // Jobs carry a fair-share priority, so a queued one is in BullMQ's `prioritized` state.
    while (!(waiting = (await queue.getJobs(['wait', 'prioritized']))[0])) await new Promise((r) => setTimeout(r, 10));
    expect((await requestJson(`${stack.url}/v1/jobs/${waiting.id}`, { method: 'DELETE' })).status).toBe(202);
    const err = await call;
    expect(err).toBeInstanceOf(OpenAI.ConflictError);
    expect({ status: err.status, code: err.code }).toEqual({ status: 409, code: 'job_canceled' });
    expect(err.message).toContain(String(waiting.id));
  });

  test('a timeout names the job and where to poll it; the job runs once a worker comes', async () => {
    const before = await queue.getJobCountByTypes('wait', 'prioritized');
    const err = await apiError(
      client.images.generate({ model: 'demo-cppn', prompt: 'a lighthouse', n: 2, size: '256x256' }),
    );
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect({ status: err.status, code: err.code, type: err.type }).toEqual({
      status: 504,
      code: 'job_timeout',
      type: 'server_error',
    });
    const id = JOB_ID.exec(err.message)![0];
    expect(err.message).toContain(`${stack.url}/v1/jobs/${id}`);
    expect(err.headers?.get('location')).toBe(`/v1/jobs/${id}`);
    // The client did not resubmit (x-should-retry: false): one job was queued, not three.
    expect((await queue.getJobCountByTypes('wait', 'prioritized')) - before).toBe(1);

    expect((await requestJson(`${stack.url}/v1/jobs/${id}`)).body).toMatchObject({ id, status: 'queued' });
    await stack.addWorker();
    const job = await waitForJob(stack.url, id);
    expect(job).toMatchObject({ status: 'succeeded', params: { width: 256, height: 256, n: 2 } });
    const image = await fetchBuffer(`${stack.url}/v1/jobs/${id}/images/1`);
    expect(image.status).toBe(200);
  });

  test('with TRUST_PROXY unset, X-Forwarded-Host and -Proto from a client do not end up in the URLs', async () => {
    const res = await client.images.generate(
      { model: 'demo-cppn', prompt: 'a lighthouse', size: '64x64' },
      { headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'evil.example' } },
    );
    expect(res.data![0].url).toMatch(new RegExp(`^${stack.url}/v1/jobs/${JOB_ID.source}/images/0$`));
  });
});

describe('with PUBLIC_URL', () => {
  const PUBLIC_URL = 'https://images.example.com/darkroom/';
  let stack: Stack;
  beforeAll(async () => {
    // No worker: the 504 after OPENAI_WAIT_SECONDS names the job's absolute URL.
    stack = await startStack({
      noWorkers: true,
      env: { PUBLIC_URL, TRUST_PROXY: 'loopback', OPENAI_WAIT_SECONDS: '1' },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** POST with headers fetch will not send (Host). */
  const postRaw = (headers: Record<string, string>) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const body = JSON.stringify({ model: 'demo-cppn', prompt: 'a lighthouse' });
      const req = http.request(
        `${stack.url}/v1/images/generations`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...headers },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  test('absolute URLs start with PUBLIC_URL whatever Host and X-Forwarded-Host say', async () => {
    const spoofs: Record<string, string>[] = [
      {},
      { host: 'evil.example' },
      { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' },
    ];
    for (const headers of spoofs) {
      const res = await postRaw(headers);
      expect({ headers, status: res.status, code: res.body.error.code }).toEqual({
        headers,
        status: 504,
        code: 'job_timeout',
      });
      expect(res.body.error.message).toMatch(
        new RegExp(`poll https://images\\.example\\.com/darkroom/v1/jobs/${JOB_ID.source} `),
      );
      expect(res.body.error.message).not.toContain('evil');
    }
  });
});
