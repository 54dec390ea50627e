import path from 'node:path';
import sharp from 'sharp';
import { fetchBuffer, postJson, requestJson, waitForJob } from '../helpers/api-client';
import {
  DemoDiffusionReference,
  lumaCorrelation,
  meanAbsoluteDifference,
  type ExpectedImage,
} from '../helpers/demo-diffusion-reference';
import { DEMO_MODELS, requireShared } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';
import { readZip } from '../helpers/zip-reader';

/**
 * The demo pipeline's UNet is the exact optimal denoiser of a Gaussian prior around a
 * prompt-dependent mean (scripts/demo-models/tiny-diffusion/latent-prior.ts). A correct pipeline
 * (tokenize, encode, guide, schedule, scale, decode) therefore turns each seed's noise into one
 * predictable sample. The reference helper computes that sample on its own, in float64 from the
 * same seeded normals, and each test compares it with what the API returns.
 */
const PIPELINE = path.join(DEMO_MODELS, 'demo-diffusion');

let stack: Stack;
let reference: DemoDiffusionReference;
beforeAll(async () => {
  stack = await startStack();
  reference = await DemoDiffusionReference.open(PIPELINE);
});
afterAll(async () => {
  await stack?.stop();
  await reference?.close();
});

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

const rgb = (png: Buffer) => sharp(png).removeAlpha().raw().toBuffer();

async function pixelError(png: Buffer, expected: Buffer) {
  const raw = await rgb(png);
  let max = 0;
  for (let i = 0; i < raw.length; i++) max = Math.max(max, Math.abs(raw[i] - expected[i]));
  return { mean: meanAbsoluteDifference(raw, expected), max };
}

const euler = (spec: Partial<ExpectedImage>): ExpectedImage => ({
  prompt: '',
  guidance: 7.5,
  width: 64,
  height: 64,
  seed: 0,
  scheduler: 'euler',
  steps: 20,
  ...spec,
});

test.each([
  ['euler', 20, 0.05, 1],
  ['ddim', 20, 0.05, 1],
  ['euler_ancestral', 30, 0.05, 1],
  ['lcm', 4, 0.05, 1],
] as const)('%s lands on the sample its seed predicts', async (scheduler, steps, meanBound, maxBound) => {
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
  const expected = await reference.pixels(euler({ prompt, width: 256, height: 192, seed: 42, scheduler, steps }));
  const error = await pixelError(images[0], expected);
  console.log(
    `${scheduler}, ${steps} steps, 256x192: ${error.mean.toFixed(3)} mean, ${error.max} max grey levels off the reference`,
  );
  expect({ scheduler, ...error, ok: error.mean < meanBound && error.max <= maxBound }).toMatchObject({ ok: true });
});

test('four seeds give four different samples of the prompt, each the one its noise predicts', async () => {
  const prompt = 'a red fox in a green forest';
  const { job, images } = await generate({ prompt, n: 4, seed: 7, width: 64, height: 64 });
  expect(job.result.images.map((i: any) => i.seed)).toEqual([7, 8, 9, 10]);
  const raws = await Promise.all(images.map(rgb));
  for (const [k, raw] of raws.entries()) {
    const expected = await reference.pixels(euler({ prompt, seed: 7 + k }));
    expect(meanAbsoluteDifference(raw, expected)).toBeLessThan(0.05);
  }
  const differences: number[] = [];
  for (let a = 0; a < 4; a++)
    for (let b = a + 1; b < 4; b++) differences.push(meanAbsoluteDifference(raws[a], raws[b]));
  console.log(`seeds 7-10, 64x64, "${prompt}": pairwise MAD ${differences.map((d) => d.toFixed(1)).join(', ')} / 255`);
  expect(Math.min(...differences)).toBeGreaterThanOrEqual(8);
});

test('the prompt steers colour and layout more than the seed does; guidance and latent scaling show', async () => {
  const seed = 1;
  const red = await rgb((await generate({ prompt: 'red', seed, width: 64, height: 64 })).images[0]);
  const blue = await rgb((await generate({ prompt: 'blue ocean', seed, width: 64, height: 64 })).images[0]);
  const channel = (raw: Buffer, c: number) =>
    raw.filter((_, i) => i % 3 === c).reduce((s, v) => s + v, 0) / (raw.length / 3);
  expect(channel(red, 0) - channel(red, 2)).toBeGreaterThan(40);
  expect(channel(blue, 2) - channel(blue, 0)).toBeGreaterThan(40);

  const prompt = 'castle on a hill at sunset';
  const seeds = await Promise.all(
    [1, 2].map(async (s) => rgb((await generate({ prompt, seed: s, width: 128, height: 128 })).images[0])),
  );
  const other = await rgb((await generate({ prompt: 'blue ocean waves', seed: 1, width: 128, height: 128 })).images[0]);
  const [bySeed, byPrompt] = [meanAbsoluteDifference(seeds[0], seeds[1]), meanAbsoluteDifference(seeds[0], other)];
  console.log(
    `128x128: two seeds of "${prompt}" differ by ${bySeed.toFixed(1)}, two prompts by ${byPrompt.toFixed(1)} / 255`,
  );
  expect(byPrompt).toBeGreaterThan(2 * bySeed);
  expect(lumaCorrelation(seeds[0], seeds[1])).toBeGreaterThan(0.5);

  const unguided = await generate({ prompt, guidance_scale: 1, width: 128, height: 128, seed });
  const expected = await reference.pixels(euler({ prompt, guidance: 1, width: 128, height: 128, seed }));
  expect((await pixelError(unguided.images[0], expected)).mean).toBeLessThan(0.05);
  expect(meanAbsoluteDifference(await rgb(unguided.images[0]), seeds[0])).toBeGreaterThan(10);
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
  expect(a.images[0].equals(a.images[1])).toBe(false);
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

test('progress is reported as the steps go (each tenth of them at least), and a cancel stops within a step', async () => {
  // Step progress is coalesced (workers/pipelines/pipeline-context.ts): written at the first step,
  // at each tenth (5, 10, 15 of 50) and when 100 ms have passed, so by step 15 at least three
  // different steps were readable, however fast the machine.
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
    if (body.step >= 15) {
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

async function imageToImage(input: Buffer, prompt: string, strength: number) {
  const form = new FormData();
  form.set('model', 'demo-diffusion');
  form.set('prompt', prompt);
  form.set('strength', String(strength));
  form.set('steps', '20');
  form.set('seed', '5');
  form.append('image', new Blob([input]), 'photo.png');
  const res = await requestJson(`${stack.url}/v1/image-to-image`, { method: 'POST', body: form });
  expect(res.status).toBe(202);
  expect(res.body.id).toMatch(/^i2i_/);
  const job = await waitForJob(stack.url, res.body.id);
  expect(job.status).toBe('succeeded');
  return { job, out: (await fetchBuffer(`${stack.url}${job.result.images[0].url}`)).data };
}

test('image-to-image keeps the input at low strength and leaves it at high strength', async () => {
  // A photo at 64x64, as PNG so the worker decodes exactly these bytes.
  const photo = requireShared('images/canoe_on_lake.jpg');
  const input = await sharp(photo).resize(64, 64, { fit: 'fill' }).removeAlpha().png().toBuffer();
  const inputRgb = await rgb(input);
  // A prompt whose own scene does not resemble the photo, so keeping and leaving the input differ.
  const prompt = 'blue ocean waves';
  // The text-to-image sample of the same prompt and seed: what the picture is once the input is left.
  const alone = await reference.pixels(euler({ prompt, seed: 5 }));
  const report = [`text-to-image ${lumaCorrelation(alone, inputRgb).toFixed(3)}`];
  for (const [strength, steps] of [
    [0.3, 6],
    [0.9, 18],
  ]) {
    const { job, out } = await imageToImage(input, prompt, strength);
    // strength s of 20 steps: the last floor(20 s) run, starting from the noised input latent.
    expect(job).toMatchObject({ steps, params: { strength, input: { width: 64, height: 64 } } });
    expect(job.result.images[0]).toMatchObject({ width: 64, height: 64, seed: 5 });
    const expected = await reference.pixels(euler({ prompt, seed: 5, input: { rgb: inputRgb, strength } }));
    expect((await pixelError(out, expected)).mean).toBeLessThan(0.05);
    const [withInput, withAlone] = [lumaCorrelation(await rgb(out), inputRgb), lumaCorrelation(await rgb(out), alone)];
    report.push(
      `strength ${strength}: ${withInput.toFixed(3)} (with the text-to-image sample ${withAlone.toFixed(3)})`,
    );
    // Low strength: the input's structure, not the prompt's sample; high strength: the reverse.
    const kept = strength === 0.3 ? withInput >= 0.8 && withAlone < 0.5 : withInput < 0.4 && withAlone > 0.9;
    expect({ strength, withInput, withAlone, kept }).toMatchObject({ kept: true });
  }
  console.log(
    `image-to-image, canoe_on_lake 64x64, "${prompt}", seed 5: luma correlation with the input, ${report.join('; ')}`,
  );
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
