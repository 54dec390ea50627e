import { loadApiKeys } from '../../src/auth/api-keys';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { loadConfig } from '../../src/config';
import { createApp } from '../../src/http/app';
import { listRoutes, toOpenApiPath } from '../../src/http/openapi/route-list';
import { COMFY_PATHS } from '../../src/http/comfy/comfy-adapter';
import { createJobQueues } from '../../src/jobs/job-queues';
import { createLogger } from '../../src/logger';
import { loadModelCatalog } from '../../src/models/model-catalog';
import { createRedis, waitForReady } from '../../src/redis/redis-connection';
import { createFsBlobStore } from '../../src/storage/fs-blob-store';
import { fetchBuffer, postJson, requestJson } from '../helpers/api-client';
import { DEMO_MODELS, FIXTURE_MODELS, REPO, requirePath } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';

/** The OpenAPI document against the app's real routes and real responses. */

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** Outside /v1, these routes are part of the API; the web page, its assets and Bull Board are not. */
const DOCUMENTED_OUTSIDE_V1 = ['/healthz', '/readyz', '/openapi.json', '/docs'];
/** ComfyUI's and AUTOMATIC1111's APIs live at the paths their clients expect. */
const COMPAT = (p: string) => p.startsWith('/sdapi/v1/') || COMFY_PATHS.some((c) => p === c || p.startsWith(`${c}/`));
const FINAL = ['succeeded', 'failed', 'canceled'];

let stack: Stack;
let spec: any;
const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
// OpenAPI's own schema keywords and its file format are annotations, not checks.
ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
ajv.addFormat('binary', true);

/** `#/components/schemas/X` -> a reference into the document registered with ajv. */
const SPEC_ID = 'https://darkroom.test/openapi.json';
const rewriteRefs = (schema: unknown): unknown =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${SPEC_ID}#/$defs/`));

beforeAll(async () => {
  stack = await startStack();
  const res = await requestJson(`${stack.url}/openapi.json`);
  expect(res.status).toBe(200);
  spec = res.body;
  ajv.addSchema({ $id: SPEC_ID, $defs: rewriteRefs(spec.components.schemas) });
});
afterAll(async () => {
  await stack?.stop();
});

const validators = new Map<string, ValidateFunction>();

/** Asserts that the spec documents this status (and content type) for the operation, and that the body matches its schema. */
function expectDocumented(method: string, specPath: string, res: { status: number; headers: Headers; body?: unknown }) {
  const operation = spec.paths[specPath]?.[method];
  expect(operation ? 'documented' : `${method.toUpperCase()} ${specPath} is not in the spec`).toBe('documented');
  const response = operation.responses[String(res.status)];
  expect(response ? 'documented' : `${method.toUpperCase()} ${specPath} does not document ${res.status}`).toBe(
    'documented',
  );
  const type = (res.headers.get('content-type') ?? '').split(';')[0];
  expect(Object.keys(response.content ?? {})).toContain(type);
  if (type !== 'application/json') return;
  const key = `${method} ${specPath} ${res.status}`;
  let validate = validators.get(key);
  if (!validate) validators.set(key, (validate = ajv.compile(rewriteRefs(response.content[type].schema) as object)));
  validate(res.body);
  expect({ [key]: validate.errors ?? [], body: validate.errors ? res.body : undefined }).toEqual({
    [key]: [],
    body: undefined,
  });
}

/** Polls GET `specPath` for `id`, checking every answer against the spec, until the job or batch has finished. */
async function pollDocumented(
  kind: 'jobs' | 'batches',
  id: string,
  until = (body: any) => FINAL.includes(body.status),
) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await requestJson(`${stack.url}/v1/${kind}/${id}`);
    expectDocumented('get', `/v1/${kind}/{id}`, res);
    if (until(res.body)) return res.body;
    if (Date.now() > deadline) throw new Error(`${id} still ${res.body.status} after 60 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the document', () => {
  test('is OpenAPI 3.1 and every JSON schema in it compiles with every $ref resolved', () => {
    expect(spec).toMatchObject({ openapi: '3.1.0', info: { title: 'darkroom' } });
    let schemas = 0;
    for (const [p, item] of Object.entries<any>(spec.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        const bodies = [op.requestBody, ...Object.values<any>(op.responses)].filter(Boolean);
        for (const body of bodies) {
          for (const media of Object.values<any>(body.content ?? {})) {
            expect(() => ajv.compile(rewriteRefs(media.schema) as object)).not.toThrow();
            schemas++;
          }
        }
        expect({ [`${method} ${p}`]: typeof op.operationId }).toEqual({ [`${method} ${p}`]: 'string' });
      }
    }
    expect(schemas).toBeGreaterThan(40);
  });

  test('documents exactly the routes the app serves under /v1, and health, readiness and docs', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-openapi-'));
    const config = loadConfig(
      {
        REDIS_URL: stack.redis.url,
        MODELS_PATH: [DEMO_MODELS, FIXTURE_MODELS].join(','),
        DATA_DIR: dataDir,
        LOG_LEVEL: 'silent',
      },
      REPO,
    );
    const redis = createRedis(config.redis.url, 'api');
    const queues = createJobQueues(redis, {
      prefix: config.redis.prefix,
      attempts: config.jobs.attempts,
      retentionSeconds: config.jobs.retentionSeconds,
    });
    try {
      await waitForReady(redis);
      const deps = {
        config,
        logger: createLogger('silent', 'test'),
        redis,
        queues,
        store: createFsBlobStore(path.join(dataDir, 'blobs')),
        catalog: loadModelCatalog(config.models.path),
        keys: loadApiKeys(undefined, undefined),
      };
      const routes = listRoutes(createApp(deps, { user: 'admin', password: 'openapi-test-password' }));
      // The lister sees nested routers, including ones that are not part of the API.
      expect(routes).toEqual(
        expect.arrayContaining([
          { method: 'get', path: '/' },
          { method: 'get', path: '/v1/jobs/:id/images/:index' },
        ]),
      );
      const served = routes
        .filter((r) => r.path.startsWith('/v1/') || DOCUMENTED_OUTSIDE_V1.includes(r.path) || COMPAT(r.path))
        .map((r) => `${r.method.toUpperCase()} ${toOpenApiPath(r.path)}`);
      const documented = Object.entries<any>(spec.paths).flatMap(([p, item]) =>
        Object.keys(item)
          .filter((m) => METHODS.includes(m))
          .map((m) => `${m.toUpperCase()} ${p}`),
      );
      expect([...new Set(served)].sort()).toEqual([...new Set(documented)].sort());
      expect(served).toEqual(
        expect.arrayContaining([
          'POST /v1/generations',
          'DELETE /v1/jobs/{id}',
          'POST /v1/images/generations',
          'GET /openapi.json',
        ]),
      );
    } finally {
      await queues.close();
      redis.disconnect();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('real responses match the document', () => {
  test('health, readiness and the model list', async () => {
    expectDocumented('get', '/healthz', await requestJson(`${stack.url}/healthz`));
    expectDocumented('get', '/readyz', await requestJson(`${stack.url}/readyz`));
    const models = await requestJson(`${stack.url}/v1/models`);
    expect(models.body.models.length).toBeGreaterThanOrEqual(5);
    expectDocumented('get', '/v1/models', models);
    // This stack has no WEBHOOK_SECRET: the documented 422.
    const secret = await requestJson(`${stack.url}/v1/webhook-secret`);
    expect(secret.status).toBe(422);
    expectDocumented('get', '/v1/webhook-secret', secret);
  });

  test('a generation: 202, queued and succeeded job, its image and its zip', async () => {
    const res = await postJson(`${stack.url}/v1/generations`, {
      model: 'demo-cppn',
      n: 2,
      prompt: 'a lighthouse',
      output_format: 'webp',
    });
    expect(res.status).toBe(202);
    expectDocumented('post', '/v1/generations', res);
    const job = await pollDocumented('jobs', res.body.id);
    expect(job.status).toBe('succeeded');
    const image = await fetchBuffer(`${stack.url}${job.result.images[1].url}`);
    expect(image.status).toBe(200);
    expectDocumented('get', '/v1/jobs/{id}/images/{index}', image);
    const zip = await fetchBuffer(`${stack.url}/v1/jobs/${job.id}/archive`);
    expect(zip.status).toBe(200);
    expectDocumented('get', '/v1/jobs/{id}/archive', zip);
  });

  test('a running diffusion job (with steps), 409 for its zip, its cancel and the canceled job', async () => {
    const res = await postJson(`${stack.url}/v1/generations`, {
      model: 'demo-diffusion',
      prompt: 'slow',
      steps: 50,
      n: 4,
      width: 1024,
      height: 1024,
    });
    expectDocumented('post', '/v1/generations', res);
    const running = await pollDocumented(
      'jobs',
      res.body.id,
      (body) => body.step !== undefined || FINAL.includes(body.status),
    );
    expect(running).toMatchObject({ status: 'running', steps: 50 });
    const early = await requestJson(`${stack.url}/v1/jobs/${res.body.id}/archive`);
    expect(early.status).toBe(409);
    expectDocumented('get', '/v1/jobs/{id}/archive', early);
    const cancel = await requestJson(`${stack.url}/v1/jobs/${res.body.id}`, { method: 'DELETE' });
    expect(cancel.status).toBe(202);
    expectDocumented('delete', '/v1/jobs/{id}', cancel);
    expect(await pollDocumented('jobs', res.body.id)).toMatchObject({
      status: 'canceled',
      error: { code: 'canceled' },
    });
  });

  test('a multipart classification and its predictions', async () => {
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 30 } } })
      .png()
      .toBuffer();
    const form = new FormData();
    form.set('model', 'demo-colors');
    form.set('top_k', '3');
    form.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'red.png');
    const res = await requestJson(`${stack.url}/v1/classifications`, { method: 'POST', body: form });
    expect(res.status).toBe(202);
    expectDocumented('post', '/v1/classifications', res);
    const job = await pollDocumented('jobs', res.body.id);
    expect(job.result.predictions[0].labels).toHaveLength(3);
  });

  test('a batch, its jobs and its zip', async () => {
    const png = (
      await sharp({ create: { width: 32, height: 32, channels: 3, background: '#2040c0' } })
        .png()
        .toBuffer()
    ).toString('base64');
    const res = await postJson(`${stack.url}/v1/batches`, {
      requests: [
        { type: 'generation', model: 'demo-cppn', prompt: 'tide', n: 2 },
        { type: 'classification', model: 'demo-colors', images: [png] },
      ],
    });
    expect(res.status).toBe(202);
    expectDocumented('post', '/v1/batches', res);
    const batch = await pollDocumented(
      'batches',
      res.body.id,
      (body) => body.status === 'succeeded' || body.status === 'failed',
    );
    expect(batch).toMatchObject({ status: 'succeeded', total: 2 });
    const zip = await fetchBuffer(`${stack.url}/v1/batches/${batch.id}/archive`);
    expectDocumented('get', '/v1/batches/{id}/archive', zip);
  });

  test('errors: 422 with details, 404 for unknown jobs and batches, 400 for malformed JSON', async () => {
    const invalid = await postJson(`${stack.url}/v1/generations`, { n: 100, width: 'wide' });
    expect(invalid.status).toBe(422);
    expect(invalid.body.error.details.map((d: any) => d.field).sort()).toEqual(['n', 'width']);
    expectDocumented('post', '/v1/generations', invalid);
    const missing = await requestJson(`${stack.url}/v1/jobs/gen_00000000-0000-4000-8000-000000000000`);
    expect(missing.status).toBe(404);
    expectDocumented('get', '/v1/jobs/{id}', missing);
    const noBatch = await requestJson(`${stack.url}/v1/batches/bat_00000000-0000-4000-8000-000000000000`);
    expect(noBatch.status).toBe(404);
    expectDocumented('get', '/v1/batches/{id}', noBatch);
    const malformed = await requestJson(`${stack.url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"requests": [',
    });
    expect(malformed.status).toBe(400);
    expectDocumented('post', '/v1/batches', malformed);
  });

  test('the OpenAI-compatible route: images and an OpenAI-shaped 422', async () => {
    for (const response_format of ['url', 'b64_json']) {
      const res = await postJson(`${stack.url}/v1/images/generations`, {
        model: 'demo-cppn',
        prompt: 'a lighthouse',
        size: '64x64',
        response_format,
      });
      expect(res.status).toBe(200);
      expectDocumented('post', '/v1/images/generations', res);
    }
    const bad = await postJson(`${stack.url}/v1/images/generations`, {
      model: 'demo-cppn',
      prompt: 'a lighthouse',
      size: 'huge',
    });
    expect(bad.status).toBe(422);
    expectDocumented('post', '/v1/images/generations', bad);
  });
});

describe('the docs page', () => {
  test('is HTML that loads Swagger UI from this server, pointed at /openapi.json', async () => {
    const page = await fetchBuffer(`${stack.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = page.data.toString();
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(urls).toEqual(expect.arrayContaining(['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css']));
    for (const url of urls) {
      expect(url.startsWith('/')).toBe(true); // nothing from another host: the docs work offline
      const file = await fetchBuffer(`${stack.url}${url}`);
      expect({ url, status: file.status }).toEqual({ url, status: 200 });
      expect(file.data.length).toBeGreaterThan(0);
    }
    const scripts = await Promise.all(
      urls.filter((u) => u.endsWith('.js')).map(async (u) => (await fetchBuffer(`${stack.url}${u}`)).data.toString()),
    );
    expect(scripts.some((s) => s.includes('SwaggerUIBundle') && s.includes("'/openapi.json'"))).toBe(true);
    // Only the files the page needs are served, not swagger-ui-dist's petstore index.
    expect((await fetchBuffer(`${stack.url}/docs/assets/index.html`)).status).toBe(404);
  });

  test('renders every operation in a real browser, without errors or CSP violations', async () => {
    const executablePath = requirePath(
      '/usr/bin/chromium',
      'Chromium',
      'the docs page test drives a real browser (apt-get install -y chromium)',
    );
    const browser = await chromium.launch({
      executablePath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      const foreign: string[] = [];
      page.on('pageerror', (err) => problems.push(err.message));
      page.on('console', (msg) => msg.type() === 'error' && problems.push(msg.text()));
      page.on(
        'request',
        (req) => !req.url().startsWith(stack.url) && !req.url().startsWith('data:') && foreign.push(req.url()),
      );
      await page.goto(`${stack.url}/docs`);
      await page.locator('.opblock').first().waitFor({ timeout: 30_000 });
      const operations = Object.values<any>(spec.paths).flatMap((item) => Object.keys(item));
      expect(await page.locator('.opblock').count()).toBe(operations.length);
      await page.locator('.opblock-summary-path', { hasText: '/v1/images/generations' }).waitFor();
      expect({ problems, foreign }).toEqual({ problems: [], foreign: [] });
    } finally {
      await browser.close();
    }
  });
});
