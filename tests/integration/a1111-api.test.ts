import Ajv from 'ajv';
import sharp from 'sharp';
import * as A1111 from '../fixtures/a1111-openapi';
import { requireShared } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';

/**
 * AUTOMATIC1111's /sdapi/v1 against the schemas of its OpenAPI document (tests/fixtures/a1111-openapi.ts):
 * every request sent here is a valid A1111 request, every answer must be a valid A1111 response.
 * Keys are on and sent as A1111 clients send --api-auth: HTTP Basic, the key as password.
 */

const ALICE = 'alice-a1111-key-0123456789';
const BOB = 'bob-a1111-key-0123456789';
const basic = (key: string) => `Basic ${Buffer.from(`webui:${key}`).toString('base64')}`;

const ajv = new Ajv({ strict: false });
const check = (schema: object, value: unknown) => {
  const validate = ajv.compile(schema);
  if (!validate(value)) throw new Error(`${JSON.stringify(validate.errors)} in ${JSON.stringify(value).slice(0, 500)}`);
};

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { API_KEYS: `alice:${ALICE},bob:${BOB}` } });
});
afterAll(async () => {
  await stack?.stop();
});

async function call(method: string, path: string, body?: object, key = ALICE) {
  const res = await fetch(`${stack.url}/sdapi/v1${path}`, {
    method,
    headers: { Authorization: basic(key), ...(body && { 'content-type': 'application/json' }) },
    body: body && JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** A request as A1111 clients send it, checked against StableDiffusionProcessingTxt2Img first. */
async function txt2img(fields: Record<string, unknown>, key = ALICE) {
  const body = { prompt: 'a red lighthouse', negative_prompt: 'blurry', steps: 4, width: 64, height: 64, ...fields };
  check(A1111.StableDiffusionProcessingTxt2Img, body);
  return call('POST', '/txt2img', body, key);
}

const pixelsOf = async (b64: string) => sharp(Buffer.from(b64, 'base64')).metadata();

test('sd-models, samplers and options in their A1111 shapes; sd_model_checkpoint is chosen per key', async () => {
  const models = await call('GET', '/sd-models');
  check({ type: 'array', items: A1111.SDModelItem }, models.body);
  expect(models.body.map((m: any) => m.title)).toContain('demo-diffusion');
  const samplers = await call('GET', '/samplers');
  check({ type: 'array', items: A1111.SamplerItem }, samplers.body);
  expect(samplers.body.map((s: any) => s.name)).toEqual(['Euler', 'Euler a', 'DDIM', 'LCM']);

  // Open WebUI sets the model by its title, which in A1111 carries a file extension and a hash.
  expect(
    (await call('POST', '/options', { sd_model_checkpoint: 'demo-diffusion.safetensors [0123abcd]' })).status,
  ).toBe(200);
  const options = await call('GET', '/options');
  check(A1111.Options, options.body);
  expect(options.body.sd_model_checkpoint).toBe('demo-diffusion');
  const unknown = await call('POST', '/options', { sd_model_checkpoint: 'sdxl-base' }, BOB);
  expect(unknown.status).toBe(422);
  expect(unknown.body.detail[0]).toMatchObject({ loc: ['body', 'sd_model_checkpoint'] });
});

test('txt2img: base64 PNGs, the request as parameters, and info as JSON text holding the seeds', async () => {
  const res = await txt2img({ seed: 1234, batch_size: 2, sampler_name: 'Euler a', cfg_scale: 5 });
  expect(res.status).toBe(200);
  check(A1111.TextToImageResponse, res.body);
  expect(res.body.images).toHaveLength(2);
  for (const image of res.body.images)
    expect(await pixelsOf(image)).toMatchObject({ format: 'png', width: 64, height: 64 });
  expect(res.body.parameters).toMatchObject({ prompt: 'a red lighthouse', seed: 1234, batch_size: 2 });
  const info = JSON.parse(res.body.info);
  expect(info).toMatchObject({
    seed: 1234,
    sampler_name: 'Euler a',
    cfg_scale: 5,
    steps: 4,
    sd_model_name: 'demo-diffusion',
  });
  expect(info.all_seeds).toHaveLength(2);
  expect(info.all_seeds[0]).toBe(1234);
  expect(info.infotexts[0]).toContain('Seed: 1234, Size: 64x64');

  // The same seed gives the same image; seed -1 picks one and reports it.
  const again = await txt2img({ seed: 1234, sampler_name: 'Euler a', cfg_scale: 5 });
  expect(again.body.images[0]).toBe(res.body.images[0]);
  const random = JSON.parse((await txt2img({ seed: -1 })).body.info);
  expect(random.seed).toBeGreaterThanOrEqual(0);
});

test('img2img: the init image through the model at denoising_strength', async () => {
  const photo = await sharp(requireShared('images/tabby_cat.jpg')).resize(64, 64).png().toBuffer();
  const body = {
    init_images: [photo.toString('base64')],
    prompt: 'a cat',
    denoising_strength: 0.5,
    steps: 4,
    width: 64,
    height: 64,
    seed: 7,
  };
  check(A1111.StableDiffusionProcessingImg2Img, body);
  const res = await call('POST', '/img2img', body);
  expect(res.status).toBe(200);
  check(A1111.ImageToImageResponse, res.body);
  expect(await pixelsOf(res.body.images[0])).toMatchObject({ format: 'png', width: 64, height: 64 });
  expect(res.body.parameters.init_images).toBeNull();
  expect(JSON.parse(res.body.info)).toMatchObject({ seed: 7, denoising_strength: 0.5 });
});

test('progress follows the key’s running job and interrupt cancels it', async () => {
  const long = txt2img({ seed: 5, steps: 150, width: 1024, height: 1024 }); // long enough to be caught running on a fast machine
  let progress: any;
  for (let i = 0; i < 2000; i++) {
    progress = (await call('GET', '/progress')).body;
    if (progress.state.sampling_step > 0) break;
  }
  check(A1111.ProgressResponse, progress);
  expect(progress.state).toMatchObject({ job_count: 1, sampling_steps: 150 });
  expect(progress.progress).toBeGreaterThan(0);
  // Another key has nothing running.
  expect((await call('GET', '/progress', undefined, BOB)).body.state.job_count).toBe(0);
  expect((await call('POST', '/interrupt')).status).toBe(200);
  const res = await long;
  expect(res.status).toBe(409);
  const after = (await call('GET', '/progress')).body;
  check(A1111.ProgressResponse, after);
  expect(after.state).toMatchObject({ interrupted: true, job_count: 0 });
});

test('what darkroom cannot do is a 422 naming the field; no key is a 401', async () => {
  const hires = await txt2img({ enable_hr: true });
  expect(hires.status).toBe(422);
  expect(hires.body.detail[0]).toMatchObject({ loc: ['body', 'enable_hr'] });
  const sampler = await txt2img({ sampler_name: 'DPM++ 2M Karras' });
  expect(sampler.body.detail[0]).toMatchObject({ loc: ['body', 'sampler_name'] });
  expect((await fetch(`${stack.url}/sdapi/v1/sd-models`)).status).toBe(401);
});
