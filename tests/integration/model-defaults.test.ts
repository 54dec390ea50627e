import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { postJson, requestJson, waitForJob } from '../helpers/api-client';
import { DEMO_MODELS, FIXTURE_MODELS, requireShared } from '../helpers/paths';
import { startTestRedis } from '../helpers/redis-server';
import { runProcess, startStack, waitForExit, type ServerProcess, type Stack } from '../helpers/stack';

/**
 * The default model of each job type, with real API, worker and `npm start` processes: what
 * GET /v1/models marks, what requests that name no model run on (the API and its OpenAI route),
 * the preference of a real model over a demo, a bad DEFAULT_* stopping the start, and the banner.
 */

/** Real models by path (their manifests point at ../shared's graphs), beside the demos. */
const MODELS_PATH = [
  DEMO_MODELS,
  path.join(FIXTURE_MODELS, 'omori-sprite-gan'),
  path.join(FIXTURE_MODELS, 'mobilenetv2-12-int8'),
].join(',');

interface ListedModel {
  name: string;
  demo: boolean;
  default: boolean;
  default_for: string[];
}

/** name -> [demo, default, default_for] of every model the API lists. */
async function marks(url: string) {
  const { status, body } = await requestJson<{ models: ListedModel[] }>(`${url}/v1/models`);
  expect(status).toBe(200);
  return Object.fromEntries(body.models.map((m) => [m.name, [m.demo, m.default, m.default_for]]));
}

/** The model a submission that names none was given. */
async function modelOf(url: string, route: string, body: Record<string, unknown>) {
  const res = await postJson(`${url}${route}`, body);
  expect(res.status).toBe(202);
  return (res.body as { model: string; params: { model: string } }).params.model;
}

const photo = () => fs.readFileSync(requireShared('images/goldfish.jpg')).toString('base64');

describe('with no DEFAULT_* set', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ noWorkers: true, env: { MODELS_PATH } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('a real model is preferred over the demo of its job, and GET /v1/models marks defaults and demos', async () => {
    expect(await marks(stack.url)).toEqual({
      'demo-colors': [true, false, []],
      'demo-cppn': [true, false, []],
      // No real model here starts from an image: the demo stays that job's default.
      'demo-diffusion': [true, true, ['image_to_image']],
      'omori-sprite-gan': [false, true, ['generation']],
      'mobilenetv2-12-int8': [false, true, ['classification']],
    });
    expect(await modelOf(stack.url, '/v1/generations', { n: 1 })).toBe('omori-sprite-gan');
    expect(await modelOf(stack.url, '/v1/classifications', { images: [photo()] })).toBe('mobilenetv2-12-int8');
    expect(await modelOf(stack.url, '/v1/image-to-image', { image: photo(), width: 64, height: 64 })).toBe(
      'demo-diffusion',
    );
  });
});

describe('with DEFAULT_* set to demos although real models are loaded', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        MODELS_PATH,
        DEFAULT_GENERATION_MODEL: 'demo-cppn',
        DEFAULT_CLASSIFICATION_MODEL: 'demo-colors',
        DEFAULT_IMAGE_TO_IMAGE_MODEL: 'demo-diffusion',
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('GET /v1/models marks the settings, and the API runs what names no model on them', async () => {
    expect(await marks(stack.url)).toMatchObject({
      'demo-colors': [true, true, ['classification']],
      'demo-cppn': [true, true, ['generation']],
      'demo-diffusion': [true, true, ['image_to_image']],
      'omori-sprite-gan': [false, false, []],
      'mobilenetv2-12-int8': [false, false, []],
    });
    expect(await modelOf(stack.url, '/v1/generations', { prompt: 'a harbour', n: 1, width: 64, height: 64 })).toBe(
      'demo-cppn',
    );
    expect(await modelOf(stack.url, '/v1/classifications', { images: [photo()] })).toBe('demo-colors');
  });

  test.each([
    ['an OpenAI model name', 'dall-e-2'],
    ['no model', undefined],
  ])('the OpenAI route runs %s on DEFAULT_GENERATION_MODEL', async (_what, model) => {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'unused' });
    const res = await client.images.generate({
      prompt: 'a lighthouse',
      size: '256x256',
      ...(model ? { model } : {}),
    });
    const jobId = /\/v1\/jobs\/([^/]+)\/images\/0$/.exec(res.data![0].url!)![1];
    const job = await waitForJob(stack.url, jobId);
    expect({ status: job.status, model: job.params.model }).toEqual({ status: 'succeeded', model: 'demo-cppn' });
  });
});

describe('starting', () => {
  const dataDirs: string[] = [];
  const processes: ServerProcess[] = [];
  const start = (script: string, env: NodeJS.ProcessEnv) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-defaults-'));
    dataDirs.push(dataDir);
    const p = runProcess(script, { PORT: '0', DATA_DIR: dataDir, ADMIN_PASSWORD: 'test-admin-password', ...env });
    processes.push(p);
    return p;
  };
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each([['src/api-main.js'], ['src/main.js']])(
    '%s stops at once on a DEFAULT_* that names no suitable model, naming the variable and the choices',
    async (script) => {
      // No Redis is needed: the models are checked before anything connects.
      const p = start(script, {
        REDIS_URL: 'redis://127.0.0.1:1',
        MODELS_PATH,
        DEFAULT_GENERATION_MODEL: 'stable-diffusion-v1-5',
        DEFAULT_CLASSIFICATION_MODEL: 'demo-cppn',
      });
      expect(await waitForExit(p)).toBe(78);
      expect(p.output()).toContain(
        [
          'Invalid configuration:',
          '  - DEFAULT_GENERATION_MODEL: no model "stable-diffusion-v1-5" is installed (MODELS_PATH); generation models available: demo-cppn, demo-diffusion, omori-sprite-gan',
          '  - DEFAULT_CLASSIFICATION_MODEL: model "demo-cppn" (generator) cannot run classification jobs; classification models available: demo-colors, mobilenetv2-12-int8',
        ].join('\n'),
      );
      expect(p.output()).not.toContain('darkroom is running');
    },
  );

  test('npm start names the web page, /docs, Bull Board and each model with its defaults, demos as demos', async () => {
    const redis = await startTestRedis();
    try {
      const main = start('src/main.js', { REDIS_URL: redis.url, MODELS_PATH });
      const last = await main.waitForLog((l) => /not what a real model makes/.test(String(l.msg)), 60_000);
      expect(last.msg).toContain('`darkroom models pull <owner/name>` installs a real one');
      const output = main.output();
      const url = /^darkroom is running at (http:\/\/\S+)$/m.exec(output)![1];
      const banner = output.slice(output.indexOf('darkroom is running at'), output.indexOf(String(last.msg)));
      expect(banner.split('\n').slice(0, 5)).toEqual([
        `darkroom is running at ${url}`,
        `  web page    ${url}/`,
        `  API docs    ${url}/docs`,
        `  Bull Board  ${url}/admin/queues`,
        '  models (defaults: DEFAULT_GENERATION_MODEL, DEFAULT_CLASSIFICATION_MODEL, DEFAULT_IMAGE_TO_IMAGE_MODEL):',
      ]);
      const modelLine = (name: string) => banner.split('\n').find((l) => l.trim().startsWith(`${name} `));
      expect(modelLine('demo-colors')).toMatch(/^ {4}demo-colors +classifier +demo$/);
      expect(modelLine('demo-cppn')).toMatch(/^ {4}demo-cppn +generator +demo$/);
      expect(modelLine('demo-diffusion')).toMatch(/^ {4}demo-diffusion +diffusion +demo +default for image-to-image$/);
      expect(modelLine('omori-sprite-gan')).toMatch(/^ {4}omori-sprite-gan +generator +default for generation$/);
      expect(modelLine('mobilenetv2-12-int8')).toMatch(
        /^ {4}mobilenetv2-12-int8 +classifier +default for classification$/,
      );
      // The addresses it names answer.
      for (const route of ['/', '/docs', '/v1/models']) expect((await fetch(`${url}${route}`)).status).toBe(200);
      expect((await fetch(`${url}/admin/queues`)).status).toBe(401);
      await main.stop();
    } finally {
      await redis.stop();
    }
  }, 120_000);
});
