import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { fetchBuffer, postJson, requestJson, waitForJob, type JsonResponse } from '../helpers/api-client';
import { DEMO_MODELS, FIXTURE_MODELS, REPO, requirePath, requireShared } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';
import { readZip } from '../helpers/zip-reader';

/** Style transfer and super-resolution models (../shared), kept apart so other test files do not load them. */
const IMAGE_MODELS = requirePath(
  path.join(REPO, 'tests', 'fixtures', 'models-image'),
  'the image-to-image fixture manifests',
  'they are part of the repo',
);
const STYLES = [
  'fast-neural-style-candy',
  'fast-neural-style-mosaic',
  'fast-neural-style-udnie',
  'fast-neural-style-la-muse',
];
const photo = (name: string) => fs.readFileSync(requireShared(`images/${name}`));

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { MODELS_PATH: [DEMO_MODELS, FIXTURE_MODELS, IMAGE_MODELS].join(',') } });
});
afterAll(async () => {
  await stack?.stop();
});

function postForm(fields: Record<string, string>, image: Buffer, filename = 'photo.jpg'): Promise<JsonResponse> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  form.append('image', new Blob([image]), filename);
  return requestJson(`${stack.url}/v1/image-to-image`, { method: 'POST', body: form });
}

/** Waits for the job to succeed and fetches its one output image. */
async function outputOf(res: JsonResponse) {
  expect(res.status).toBe(202);
  const job = await waitForJob(stack.url, res.body.id);
  expect(job).toMatchObject({ status: 'succeeded', progress: 1 });
  expect(job.result.images).toHaveLength(1);
  const [image] = job.result.images;
  expect(image.seed).toBeUndefined();
  const file = await fetchBuffer(`${stack.url}${image.url}`);
  expect(file.status).toBe(200);
  expect(file.headers.get('content-type')).toBe(image.content_type);
  expect(file.data.length).toBe(image.bytes);
  const meta = await sharp(file.data).metadata();
  expect({ width: meta.width, height: meta.height }).toEqual({ width: image.width, height: image.height });
  return { job, data: file.data, width: image.width as number, height: image.height as number, format: meta.format };
}

/** Mean absolute difference per channel value of two images of the same size. */
async function meanAbsDiff(a: Buffer, b: Buffer): Promise<number> {
  const [x, y] = await Promise.all([a, b].map((buf) => sharp(buf).removeAlpha().raw().toBuffer()));
  if (x.length !== y.length) throw new Error(`sizes differ: ${x.length} vs ${y.length} values`);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.abs(x[i] - y[i]);
  return sum / x.length;
}

/** Peak signal-to-noise ratio of `a` against the reference `b`, in dB. */
async function psnrOf(a: Buffer, b: Buffer): Promise<number> {
  const [x, y] = await Promise.all([a, b].map((buf) => sharp(buf).removeAlpha().raw().toBuffer()));
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += (x[i] - y[i]) ** 2;
  return 10 * Math.log10((255 * 255) / (sum / x.length));
}

const resized = (img: Buffer, width: number, height: number, kernel: keyof sharp.KernelEnum = 'lanczos3') =>
  sharp(img).resize(width, height, { fit: 'fill', kernel }).png().toBuffer();

test('GET /v1/models lists the style and super-resolution models as image_to_image', async () => {
  const { body } = await requestJson(`${stack.url}/v1/models`);
  const models = body.models.filter((m: any) => m.kind === 'image_to_image');
  expect(models.map((m: any) => m.name).sort()).toEqual([...STYLES, 'superres-y-x3'].sort());
  expect(models.find((m: any) => m.name === 'superres-y-x3')).toMatchObject({
    job_type: 'image_to_image',
    input: { width: 'any', color: 'luma' },
    output: { scale_factor: 3 },
  });
  expect(models.find((m: any) => m.name === 'fast-neural-style-candy')).toMatchObject({
    input: { width: 720, height: 720, color: 'rgb' },
  });
});

describe.each([
  ['fast-neural-style-candy', 'canoe_on_lake.jpg'],
  ['fast-neural-style-mosaic', 'macaw.jpg'],
  ['fast-neural-style-udnie', 'horse_cart.jpg'],
  ['fast-neural-style-la-muse', 'kimono.jpg'],
])('%s on %s', (model, file) => {
  test("keeps the photo's aspect ratio at 720 px on the longer side and restyles it strongly", async () => {
    const input = photo(file);
    const inMeta = await sharp(input).rotate().metadata();
    const out = await outputOf(await postForm({ model }, input, file));
    expect(out.format).toBe('png');
    expect(Math.max(out.width, out.height)).toBe(720);
    expect(Math.abs(out.width / out.height / (inMeta.width! / inMeta.height!) - 1)).toBeLessThan(0.01);
    expect(await meanAbsDiff(out.data, await resized(input, out.width, out.height))).toBeGreaterThan(25);
  });
});

test('the zip of a style job holds the output, the input and the manifest', async () => {
  const out = await outputOf(
    await postForm({ model: 'fast-neural-style-candy', output_format: 'webp' }, photo('canoe_on_lake.jpg')),
  );
  expect(out.format).toBe('webp');
  const zip = await fetchBuffer(`${stack.url}/v1/jobs/${out.job.id}/archive`);
  expect(zip.status).toBe(200);
  const files = readZip(zip.data);
  expect(files.map((f) => f.name).sort()).toEqual(['image-000.webp', 'input-000.jpg', 'manifest.json']);
  // The input comes back as the same picture, re-encoded without its metadata.
  const input = files.find((f) => f.name === 'input-000.jpg')!.data;
  const inputMeta = await sharp(input).metadata();
  expect(inputMeta).toMatchObject({ format: 'jpeg', width: 480, height: 369 });
  expect(inputMeta.exif).toBeUndefined();
  expect(await meanAbsDiff(input, photo('canoe_on_lake.jpg'))).toBeLessThan(3);
  expect(files.find((f) => f.name === 'image-000.webp')!.data.equals(out.data)).toBe(true);
  const manifest = JSON.parse(files.find((f) => f.name === 'manifest.json')!.data.toString());
  expect(manifest).toMatchObject({ id: out.job.id, type: 'image_to_image', status: 'succeeded' });
});

describe('superres-y-x3', () => {
  test('returns exactly 3x the size, and scaled back down it is the input again (JSON, base64)', async () => {
    const input = photo('samoyed_128.png');
    const res = await postJson(`${stack.url}/v1/image-to-image`, {
      model: 'superres-y-x3',
      image: input.toString('base64'),
    });
    const out = await outputOf(res);
    expect({ width: out.width, height: out.height }).toEqual({ width: 384, height: 384 });
    expect(await meanAbsDiff(await resized(out.data, 128, 128), input)).toBeLessThan(4);
  });

  test('restores a shrunk photo better than nearest-neighbour and bicubic upscaling do', async () => {
    // Ground truth: a detailed 384x384 crop; the model sees it shrunk to 128x128.
    const truth = await sharp(photo('macaw.jpg'))
      .extract({ left: 64, top: 240, width: 384, height: 384 })
      .png()
      .toBuffer();
    const small = await resized(truth, 128, 128);
    const out = await outputOf(await postForm({ model: 'superres-y-x3' }, small, 'small.png'));
    expect({ width: out.width, height: out.height }).toEqual({ width: 384, height: 384 });
    const psnr = {
      model: await psnrOf(out.data, truth),
      nearest: await psnrOf(await resized(small, 384, 384, 'nearest'), truth),
      bicubic: await psnrOf(await resized(small, 384, 384, 'cubic'), truth),
    };
    // Measured: model 27.5 dB, bicubic 27.0 dB, nearest 25.8 dB.
    expect({ psnr, better: psnr.model > psnr.nearest + 1 && psnr.model > psnr.bicubic + 0.2 }).toMatchObject({
      better: true,
    });
  });

  test("an input over the model's pixel limit fails with image_too_large", async () => {
    const big = await sharp({ create: { width: 1100, height: 1000, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const res = await postForm({ model: 'superres-y-x3' }, big, 'big.png');
    expect(res.status).toBe(202);
    const job = await waitForJob(stack.url, res.body.id);
    expect(job).toMatchObject({ status: 'failed', error: { code: 'image_too_large' } });
    expect(job.error.message).toContain('1000000');
  });
});

test('bad requests get 4xx with stable codes', async () => {
  const corrupt = await postForm(
    { model: 'fast-neural-style-candy' },
    fs.readFileSync(requireShared('images/bad/truncated.jpg')),
  );
  expect(corrupt.status).toBeGreaterThanOrEqual(400);
  expect(corrupt.status).toBeLessThan(500);
  expect(['invalid_image', 'unsupported_image_format']).toContain(corrupt.body.error.code);

  const image = photo('tench_224.png');
  const cases: [Record<string, unknown>, number, string][] = [
    [{ model: 'fast-neural-style-candy', n: 2 }, 422, 'parameter_not_supported'],
    [{ model: 'superres-y-x3', prompt: 'sharper please' }, 422, 'parameter_not_supported'],
    [{ model: 'no-such-model' }, 422, 'unknown_model'],
  ];
  for (const [body, status, code] of cases) {
    const res = await postJson(`${stack.url}/v1/image-to-image`, { ...body, image: image.toString('base64') });
    expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status, code });
  }
  const form = await postForm({ model: 'fast-neural-style-candy', n: '2' }, image);
  expect({ status: form.status, code: form.body.error?.code }).toEqual({
    status: 422,
    code: 'parameter_not_supported',
  });
});

test('the worker keeps its event loop free while style models run', async () => {
  const redis = new Redis(stack.redis.url);
  try {
    const readBeat = async () => {
      const keys = await redis.keys('darkroom:workers:*');
      expect(keys).toHaveLength(1);
      return JSON.parse((await redis.get(keys[0]))!);
    };
    const lags: number[] = [];
    const jobs = await Promise.all(
      ['golden_retriever_puppy.jpg', 'macaw.jpg', 'white_wolves.jpg'].map((file) =>
        postForm({ model: 'fast-neural-style-udnie' }, photo(file), file),
      ),
    );
    const poller = setInterval(() => void readBeat().then((b) => lags.push(b.event_loop_max_ms)), 500);
    for (const j of jobs) expect((await waitForJob(stack.url, j.body.id)).status).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 2500)); // one heartbeat that covers the end of the work
    clearInterval(poller);
    const udnie = (await readBeat()).models.find((m: any) => m.name === 'fast-neural-style-udnie');
    expect(udnie.items).toBeGreaterThanOrEqual(3);
    expect(lags.length).toBeGreaterThan(0);
    expect(Math.max(...lags)).toBeLessThan(250);
  } finally {
    redis.disconnect();
  }
});
