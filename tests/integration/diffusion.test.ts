import path from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { fetchBuffer, postJson, requestJson, waitForJob } from '../helpers/api-client';
import { DEMO_MODELS } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';
import { readZip } from '../helpers/zip-reader';
import { loadClipTokenizer } from '../../workers/diffusion/clip-tokenizer';

/**
 * The demo pipeline's UNet is an exact denoiser for a prompt-dependent latent x0(prompt). A correct
 * pipeline (tokenize, encode, denoise with CFG, scale, decode) must therefore produce the image of
 * x0("") + g * (x0(prompt) - x0("")). This test computes that image on its own, straight from the
 * graphs, and compares it with what the API returns.
 */
const PIPELINE = path.join(DEMO_MODELS, 'demo-diffusion');
const ABAR_0 = 1 - 0.00085;
const SCALING = 0.18215;

let stack: Stack;
const sessions: Record<string, ort.InferenceSession> = {};
beforeAll(async () => {
  stack = await startStack();
  for (const part of ['text_encoder', 'unet', 'vae_decoder'])
    sessions[part] = await ort.InferenceSession.create(path.join(PIPELINE, part, 'model.onnx'));
});
afterAll(async () => {
  await stack?.stop();
  for (const s of Object.values(sessions)) await s.release();
});

async function targetLatent(prompt: string, h: number, w: number): Promise<Float32Array> {
  const tokenizer = await loadClipTokenizer(path.join(PIPELINE, 'tokenizer'));
  const ids = new ort.Tensor('int32', tokenizer.encodePadded(prompt), [1, 77]);
  const hidden = (await sessions.text_encoder.run({ input_ids: ids })).last_hidden_state;
  const zeros = new ort.Tensor('float32', new Float32Array(4 * h * w), [1, 4, h, w]);
  const out = await sessions.unet.run({
    sample: zeros,
    timestep: new ort.Tensor('int64', BigInt64Array.from([0n]), [1]),
    encoder_hidden_states: hidden,
  });
  // out = (0 - sqrt(abar_0) x0) / sqrt(1 - abar_0)
  return (out.out_sample.data as Float32Array).map((v) => (-v * Math.sqrt(1 - ABAR_0)) / Math.sqrt(ABAR_0));
}

/** The image a correct pipeline must produce, as 8-bit RGB. */
async function expectedPixels(prompt: string, guidance: number, width: number, height: number): Promise<Buffer> {
  const [h, w] = [height / 8, width / 8];
  const cond = await targetLatent(prompt, h, w);
  const latent = guidance > 1 ? (await targetLatent('', h, w)).map((u, i) => u + guidance * (cond[i] - u)) : cond;
  const decoded = await sessions.vae_decoder.run({
    latent_sample: new ort.Tensor(
      'float32',
      latent.map((v) => v / SCALING),
      [1, 4, h, w],
    ),
  });
  const planes = decoded.sample.data as Float32Array;
  const out = Buffer.alloc(width * height * 3);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < width * height; i++)
      out[i * 3 + c] = Math.max(0, Math.min(255, Math.round((planes[c * width * height + i] + 1) * 127.5)));
  return out;
}

async function generate(body: Record<string, unknown>) {
  const res = await postJson(`${stack.url}/v1/generations`, { model: 'demo-diffusion', ...body });
  expect(res.status).toBe(202);
  const job = await waitForJob(stack.url, res.body.id);
  expect(job.status).toBe('succeeded');
  const images = await Promise.all(
    job.result.images.map(async (i: any) => (await fetchBuffer(`${stack.url}${i.url}`)).data),
  );
  return { job, images };
}

async function pixelError(png: Buffer, expected: Buffer) {
  const raw = await sharp(png).removeAlpha().raw().toBuffer();
  let sum = 0;
  let max = 0;
  for (let i = 0; i < raw.length; i++) {
    const d = Math.abs(raw[i] - expected[i]);
    sum += d;
    max = Math.max(max, d);
  }
  return { mean: sum / raw.length, max };
}

test.each([
  ['euler', 20, 1.5, 4],
  ['ddim', 20, 1.5, 8],
  ['euler_ancestral', 30, 4, 40],
  ['lcm', 4, 4, 40],
])('%s lands on the guided target image', async (scheduler, steps, meanBound, maxBound) => {
  const prompt = 'a red fox in a green forest';
  const { job, images } = await generate({
    prompt,
    scheduler,
    steps,
    guidance_scale: 7.5,
    width: 256,
    height: 192,
    seed: 42,
  });
  expect(job.result.images[0]).toMatchObject({ width: 256, height: 192, seed: 42 });
  const error = await pixelError(images[0], await expectedPixels(prompt, 7.5, 256, 192));
  expect({ scheduler, ...error, ok: error.mean < meanBound && error.max <= maxBound }).toMatchObject({ ok: true });
});

test('guidance, prompt and latent scaling all show in the image', async () => {
  const prompt = 'castle on a hill at sunset';
  const target = await expectedPixels(prompt, 7.5, 128, 128);
  const unguided = await generate({ prompt, guidance_scale: 1, width: 128, height: 128, seed: 1 });
  expect((await pixelError(unguided.images[0], await expectedPixels(prompt, 1, 128, 128))).mean).toBeLessThan(1.5);
  expect((await pixelError(unguided.images[0], target)).mean).toBeGreaterThan(10);
  const other = await generate({ prompt: 'blue ocean waves', width: 128, height: 128, seed: 1 });
  expect((await pixelError(other.images[0], target)).mean).toBeGreaterThan(10);
});

test('same seed and parameters give the same bytes; the seed of each image is recorded', async () => {
  const body = {
    prompt: 'snowy mountain',
    scheduler: 'euler_ancestral',
    steps: 8,
    n: 2,
    seed: 7,
    width: 128,
    height: 128,
  };
  const [a, b] = await Promise.all([generate(body), generate(body)]);
  expect(a.images[0].equals(b.images[0])).toBe(true);
  expect(a.images[1].equals(b.images[1])).toBe(true);
  expect(a.job.result.images.map((i: any) => i.seed)).toEqual([7, 8]);
  const zip = readZip((await fetchBuffer(`${stack.url}/v1/jobs/${a.job.id}/archive`)).data);
  const manifest = JSON.parse(zip.find((f) => f.name === 'manifest.json')!.data.toString());
  expect(manifest.files.map((f: any) => f.seed)).toEqual([7, 8]);
  expect(manifest.params).toMatchObject({
    scheduler: 'euler_ancestral',
    steps: 8,
    guidance_scale: 7.5,
    negative_prompt: '',
  });
});

test('progress is reported after every step, and a cancel stops within a step', async () => {
  const res = await postJson(`${stack.url}/v1/generations`, {
    model: 'demo-diffusion',
    prompt: 'slow',
    steps: 50,
    n: 4,
    width: 1024,
    height: 1024,
  });
  const id = res.body.id;
  const seen = new Set<number>();
  let atCancel: number;
  for (;;) {
    const { body } = await requestJson(`${stack.url}/v1/jobs/${id}`);
    if (body.step !== undefined) {
      expect(body.steps).toBe(50);
      seen.add(body.step);
    }
    if (body.step >= 5) {
      atCancel = body.step;
      break;
    }
    expect(body.status).not.toBe('succeeded');
    await new Promise((r) => setTimeout(r, 5));
  }
  await requestJson(`${stack.url}/v1/jobs/${id}`, { method: 'DELETE' });
  const job = await waitForJob(stack.url, id);
  expect(job).toMatchObject({ status: 'canceled', steps: 50 });
  expect(seen.size).toBeGreaterThanOrEqual(3);
  expect(job.step).toBeLessThanOrEqual(atCancel + 2);
});

test('image-to-image with a diffusion model: encodes the input, runs the tail of the schedule', async () => {
  const input = await sharp({ create: { width: 128, height: 96, channels: 3, background: { r: 30, g: 160, b: 220 } } })
    .png()
    .toBuffer();
  const form = new FormData();
  form.set('model', 'demo-diffusion');
  form.set('prompt', 'golden desert');
  form.set('strength', '0.3');
  form.set('steps', '20');
  form.append('image', new Blob([input]), 'blue.png');
  const res = await requestJson(`${stack.url}/v1/image-to-image`, { method: 'POST', body: form });
  expect(res.status).toBe(202);
  expect(res.body.id).toMatch(/^i2i_/);
  const job = await waitForJob(stack.url, res.body.id);
  // strength 0.3 of 20 steps: the last 6 run, starting from the noised input latent.
  expect(job).toMatchObject({
    status: 'succeeded',
    steps: 6,
    params: { strength: 0.3, input: { width: 128, height: 96 } },
  });
  expect(job.result.images[0]).toMatchObject({ width: 128, height: 96 });
  // An exact denoiser's last step lands on x0(prompt) from any start, so the output is the target image.
  const out = (await fetchBuffer(`${stack.url}${job.result.images[0].url}`)).data;
  expect((await pixelError(out, await expectedPixels('golden desert', 7.5, 128, 96))).mean).toBeLessThan(1.5);
  // And the input really went through the VAE encoder (the worker's heartbeat counts runs per graph).
  const { Redis } = await import('ioredis');
  const redis = new Redis(stack.redis.url);
  await new Promise((r) => setTimeout(r, 2200));
  const beat = JSON.parse((await redis.get((await redis.keys('darkroom:workers:*'))[0]))!);
  redis.disconnect();
  expect(beat.models.find((m: any) => m.name === 'demo-diffusion/vae_encoder').runs).toBeGreaterThanOrEqual(1);
});

test('diffusion parameters are validated against the model', async () => {
  const cases: [Record<string, unknown>, string, string][] = [
    [{ width: 100 }, 'size_not_multiple_of_8', 'width'],
    [{ steps: 1000 }, 'validation_error', 'steps'],
    [{ scheduler: 'pndm' }, 'validation_error', 'scheduler'],
    [{ model: 'demo-cppn', steps: 10 }, 'parameter_not_supported', 'steps'],
  ];
  for (const [body, code, field] of cases) {
    const res = await postJson(`${stack.url}/v1/generations`, { model: 'demo-diffusion', ...body });
    expect({ status: res.status, code: res.body.error.code, field: res.body.error.details[0].field }).toEqual({
      status: 422,
      code,
      field,
    });
  }
  const models = (await requestJson(`${stack.url}/v1/models`)).body.models;
  expect(models.find((m: any) => m.name === 'demo-diffusion')).toMatchObject({
    kind: 'diffusion',
    image_to_image: true,
    parameters: { steps: { default: 20 }, width: { default: 256 } },
  });
});
