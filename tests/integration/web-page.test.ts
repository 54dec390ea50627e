import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Locator, type Page, type Route } from 'playwright-core';
import { postJson } from '../helpers/api-client';
import { DEMO_MODELS, FIXTURE_MODELS, REPO, requirePath, requireShared } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';

/** The web page at `/`, driven by a real Chromium against real API and worker processes. */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO, 'tests', 'artifacts');
/** One style-transfer model is enough for the Image to image tab (the others would only slow the worker's start). */
const STYLE_MODEL = requirePath(
  path.join(REPO, 'tests', 'fixtures', 'models-image', 'fast-neural-style-mosaic'),
  'the image-to-image fixture manifest',
  'it is part of the repo',
);

let stack: Stack;
let browser: Browser;
let page: Page;
let pageErrors: string[] = [];

/** A request the page made: what it asked for, how (`eventsource`, `fetch`, …), when. */
interface PageRequest {
  method: string;
  path: string;
  type: string;
  authorization?: string;
  at: number;
}
let requests: PageRequest[] = [];
/** GET /v1/jobs/{id}: what the page would poll. */
const jobPolls = (jobId: string) => requests.filter((r) => r.method === 'GET' && r.path === `/v1/jobs/${jobId}`);
const eventStreams = (jobId: string) => requests.filter((r) => r.path === `/v1/jobs/${jobId}/events`);

beforeAll(async () => {
  requirePath(CHROMIUM, 'Chromium', 'the web page tests drive a real browser (apt-get install -y chromium)');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const launching = chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    stack = await startStack({ env: { MODELS_PATH: [DEMO_MODELS, FIXTURE_MODELS, STYLE_MODEL].join(',') } });
  } finally {
    // Assigned even when the stack fails to start, so afterAll closes it.
    browser = await launching;
  }
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

beforeEach(async () => {
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  pageErrors = [];
  requests = [];
  page.on('request', (req) => {
    const { pathname } = new URL(req.url());
    requests.push({
      method: req.method(),
      path: pathname,
      type: req.resourceType(),
      authorization: req.headers().authorization,
      at: Date.now(),
    });
  });
  page.on('pageerror', (err) => pageErrors.push(`uncaught: ${err.message}`));
  // API answers of 4xx are logged by Chromium as "Failed to load resource"; those are expected.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) pageErrors.push(msg.text());
  });
});

afterEach(async () => {
  await page?.close();
  // Script errors and CSP violations show up here.
  expect(pageErrors).toEqual([]);
});

/** Opens the page and waits until the model list has filled the selects. */
async function openPage() {
  await page.goto(`${stack.url}/`);
  await page.locator('#gen-model option').first().waitFor({ state: 'attached' });
}

/** What the tests read of an <img> inside the browser (this tsconfig has no DOM lib). */
interface ImageState {
  complete: boolean;
  naturalWidth: number;
}

/** naturalWidth of each image, 0 while it is still loading. */
const loadedWidths = (images: Locator) =>
  images.evaluateAll((imgs) =>
    imgs.map((img) => ((img as unknown as ImageState).complete ? (img as unknown as ImageState).naturalWidth : 0)),
  );

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("each tab starts on the server's default model for its job, as GET /v1/models marks it; demos say so", async () => {
  const { models } = (await (await fetch(`${stack.url}/v1/models`)).json()) as {
    models: { name: string; demo: boolean; default_for: string[] }[];
  };
  const defaultOf = (job: string) => models.find((m) => m.default_for.includes(job))?.name;
  // No DEFAULT_* here: the real models beat the demos that come before them in MODELS_PATH.
  expect([defaultOf('generation'), defaultOf('classification'), defaultOf('image_to_image')]).toEqual([
    'omori-sprite-gan',
    'mobilenetv2-12-int8',
    'fast-neural-style-mosaic',
  ]);
  await openPage();
  const selected = async (id: string) => ({
    value: await page.locator(id).inputValue(),
    first: await page.locator(`${id} option`).first().getAttribute('value'),
  });
  // Not merely the first option: the list starts with the demos.
  expect(await selected('#gen-model')).toEqual({ value: 'omori-sprite-gan', first: 'demo-cppn' });
  expect(await selected('#cls-model')).toEqual({ value: 'mobilenetv2-12-int8', first: 'demo-colors' });
  expect((await selected('#i2i-model')).value).toBe('fast-neural-style-mosaic');
  expect(await page.locator('#gen-model option[value="demo-diffusion"]').textContent()).toBe('demo-diffusion (demo)');
  expect(await page.locator('#gen-model option[value="omori-sprite-gan"]').textContent()).toBe('omori-sprite-gan');
});

test('generate: three seeded images appear in the gallery, with a zip link', async () => {
  await openPage();
  const form = page.locator('#panel-generate');
  await form.getByLabel('Model').selectOption('demo-cppn');
  expect(await form.getByLabel('Width').inputValue()).toBe('256');
  expect(await form.getByLabel('Height').inputValue()).toBe('256');
  await form.getByLabel('Prompt', { exact: true }).fill('a quiet harbour at dusk');
  await form.getByLabel('Images', { exact: true }).fill('3');
  await form.getByLabel('Seed', { exact: true }).fill('5');
  await form.getByRole('button', { name: 'Generate', exact: true }).click();

  const card = page.locator('#gen-jobs > li').first();
  await waitUntil('three images have loaded in the gallery', async () => {
    const widths = await loadedWidths(card.locator('.gallery img'));
    return widths.length === 3 && widths.every((w) => w > 0);
  });
  expect(await loadedWidths(card.locator('.gallery img'))).toEqual([256, 256, 256]);
  expect(await card.locator('.seed').allTextContents()).toEqual(['seed 5', 'seed 6', 'seed 7']);
  expect(await card.getAttribute('data-status')).toBe('succeeded');
  expect(await card.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
  expect(await card.getByRole('button', { name: 'Cancel' }).isHidden()).toBe(true);

  const jobId = await card.getAttribute('data-job-id');
  expect(jobId).toMatch(/\S/);
  // Followed through its event stream, not by polling.
  expect(eventStreams(jobId!).map((r) => r.type)).toEqual(['eventsource']);
  expect(jobPolls(jobId!)).toEqual([]);
  const zipLink = card.getByRole('link', { name: 'Download zip' });
  const href = await zipLink.getAttribute('href');
  expect(href).toBe(`/v1/jobs/${jobId}/archive`);
  const zip = await page.evaluate(async (url) => {
    const res = await fetch(url);
    const bytes = new Uint8Array(await res.arrayBuffer());
    return {
      status: res.status,
      type: res.headers.get('content-type'),
      magic: String.fromCharCode(bytes[0], bytes[1]),
    };
  }, href!);
  expect(zip).toEqual({ status: 200, type: 'application/zip', magic: 'PK' });

  await page.screenshot({ path: path.join(ARTIFACTS, 'web-generate.png'), fullPage: true });
});

/** Records each state the newest card in `#gen-jobs` shows (status, progress %, status text); read back with CARD_STATES. */
const RECORD_CARD_STATES = `(() => {
  const list = document.querySelector('#gen-jobs');
  window.cardStates = [];
  new MutationObserver(() => {
    const card = list.firstElementChild;
    if (!card) return;
    const state = [card.dataset.status, card.querySelector('[role=progressbar]').getAttribute('aria-valuenow'), card.querySelector('.status-text').textContent].join(' | ');
    if (window.cardStates.at(-1) !== state) window.cardStates.push(state);
  }).observe(list, { subtree: true, childList: true, attributes: true, characterData: true });
})()`;
const CARD_STATES = 'window.cardStates';

/** The running states among `states` that show step progress of a job of `total` steps; checks that bar, text and step agree and steps only grow. */
function stepStates(states: string[], total: number): number[] {
  const steps = states.flatMap((state) => {
    const m = new RegExp(`^running \\| (\\d+) \\| Step (\\d+) of ${total} · (\\d+)%$`).exec(state);
    return m ? [{ bar: Number(m[1]), step: Number(m[2]), text: Number(m[3]) }] : [];
  });
  for (const [i, s] of steps.entries()) {
    expect(s.bar).toBe(Math.round((s.step / total) * 100));
    expect(s.text).toBe(s.bar);
    if (i > 0) expect(s.step).toBeGreaterThan(steps[i - 1].step);
  }
  return steps.map((s) => s.step);
}

/** Chooses demo-diffusion at 64×64 with `steps` steps in the Generate form. */
async function fillDiffusion(steps: number) {
  const form = page.locator('#panel-generate');
  await form.getByLabel('Model').selectOption('demo-diffusion');
  await form.getByLabel('Width').fill('64');
  await form.getByLabel('Height').fill('64');
  await page.getByText('Diffusion settings').click();
  await form.getByLabel('Steps').fill(String(steps));
  await form.getByLabel('Prompt', { exact: true }).fill('fog over a lake');
}

test('a diffusion job is followed through its event stream: each step shows, nothing polls', async () => {
  await openPage();
  // Enough steps that the stream is open long before the last one.
  await fillDiffusion(100);
  await page.evaluate(RECORD_CARD_STATES);
  await page.getByRole('button', { name: 'Generate', exact: true }).click();

  const card = page.locator('#gen-jobs > li').first();
  await waitUntil('the image has loaded', async () =>
    (await loadedWidths(card.locator('.gallery img'))).some((w) => w > 0),
  );
  const jobId = (await card.getAttribute('data-job-id'))!;
  expect(eventStreams(jobId).map((r) => r.type)).toEqual(['eventsource']);
  expect(jobPolls(jobId)).toEqual([]);

  // Every state the card showed came from the stream: the submission's answer said only "queued".
  const states = (await page.evaluate(CARD_STATES)) as string[];
  const steps = stepStates(states, 100);
  expect(steps.length).toBeGreaterThanOrEqual(10);
  expect(steps.at(-1)).toBe(100);
  expect(states.at(-1)).toMatch(/^succeeded \| 100 \| Finished in \d+\.\d s$/);
  expect(await card.locator('.badge').textContent()).toBe('done');
});

test('when the event stream fails, the page polls the job slowly instead', async () => {
  // An API without the stream (or a proxy that refuses it): EventSource gives up at once.
  await page.route('**/v1/jobs/*/events', (route) =>
    route.fulfill({
      status: 503,
      contentType: 'application/json',
      body: '{"error":{"code":"unavailable","message":"no stream here"}}',
    }),
  );
  await openPage();
  await fillDiffusion(150);
  await page.getByRole('button', { name: 'Generate', exact: true }).click();

  const card = page.locator('#gen-jobs > li').first();
  await waitUntil('the image has loaded', async () =>
    (await loadedWidths(card.locator('.gallery img'))).some((w) => w > 0),
  );
  expect(await card.getAttribute('data-status')).toBe('succeeded');
  const jobId = (await card.getAttribute('data-job-id'))!;
  expect(eventStreams(jobId)).toHaveLength(1);
  const polls = jobPolls(jobId);
  expect(polls.length).toBeGreaterThanOrEqual(1);
  // Slowly: seconds apart, not the 300 ms of old.
  for (let i = 1; i < polls.length; i++) expect(polls[i].at - polls[i - 1].at).toBeGreaterThanOrEqual(1500);
});

test('jobs beyond the streams the page keeps open are polled slowly until one is free', async () => {
  // Every stream is held unanswered, as jobs in a long queue would keep theirs open.
  const held: Route[] = [];
  await page.route('**/v1/jobs/*/events', (route) => void held.push(route));
  await openPage();
  const form = page.locator('#panel-generate');
  await form.getByLabel('Model').selectOption('demo-cppn');
  await form.getByLabel('Width').fill('64');
  await form.getByLabel('Height').fill('64');
  const cards = page.locator('#gen-jobs > li');
  for (let n = 1; n <= 5; n++) {
    await form.getByRole('button', { name: 'Generate', exact: true }).click();
    await waitUntil(
      `card ${n} has its job`,
      async () => (await cards.count()) === n && (await cards.first().getAttribute('data-job-id')) !== null,
    );
  }
  const ids = (
    await cards.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-job-id')))
  ).reverse() as string[];

  // Four streams at most: the fifth job is polled, and finishes while the others wait on theirs.
  await waitUntil(
    'the fifth job has succeeded',
    async () => (await cards.first().getAttribute('data-status')) === 'succeeded',
  );
  expect(held).toHaveLength(4);
  expect(eventStreams(ids[4])).toEqual([]);
  expect(jobPolls(ids[4]).length).toBeGreaterThanOrEqual(1);
  // (They show what their submission was answered: nothing newer reached them.)
  for (let i = 1; i < 5; i++) expect(['queued', 'running']).toContain(await cards.nth(i).getAttribute('data-status'));

  for (const route of held) await route.continue();
  await waitUntil('all five have succeeded', async () =>
    (await cards.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-status')))).every(
      (s) => s === 'succeeded',
    ),
  );
  for (const id of ids.slice(0, 4)) {
    expect(eventStreams(id)).toHaveLength(1);
    expect(jobPolls(id)).toEqual([]);
  }
});

test('classify: dropped photos get their top-5 labels with score bars', async () => {
  await openPage();
  await page.getByRole('tab', { name: 'Classify' }).click();
  await page.locator('#cls-model').selectOption('mobilenetv2-12-int8');
  await page
    .getByLabel(/Drop images to classify/)
    .setInputFiles([requireShared('images/goldfish.jpg'), requireShared('images/hummingbird.jpg')]);

  const card = page.locator('#cls-jobs > li').first();
  await card.locator('.prediction .labels').nth(1).waitFor({ timeout: 60_000 });
  const rows = card.locator('.prediction');
  expect(await rows.count()).toBe(2);
  const goldfish = await rows.nth(0).locator('.label-name').allTextContents();
  expect(goldfish).toHaveLength(5);
  expect(goldfish[0]).toBe('goldfish');
  expect(await rows.nth(1).locator('.label-name').first().textContent()).toBe('hummingbird');
  // Score bars are drawn in proportion and in order.
  const widths = await rows
    .nth(0)
    .locator('.score-bar .fill')
    .evaluateAll((fills) => fills.map((f) => f.getBoundingClientRect().width));
  expect(widths[0]).toBeGreaterThan(0);
  expect([...widths].sort((a, b) => b - a)).toEqual(widths);
  expect(await rows.nth(0).locator('.score').first().textContent()).toMatch(/^\d+(\.\d)?%$/);
  expect((await loadedWidths(rows.nth(0).locator('img')))[0]).toBeGreaterThan(0);

  await page.screenshot({ path: path.join(ARTIFACTS, 'web-classify.png'), fullPage: true });
});

test('a rejected request shows the API message and marks the field', async () => {
  await openPage();
  await page.locator('#gen-model').selectOption('demo-cppn');
  await page.locator('#panel-generate').getByLabel('Width').fill('5000');
  await page.getByRole('button', { name: 'Generate', exact: true }).click();

  const alert = page.locator('#gen-error');
  await alert.waitFor({ state: 'visible' });
  // The same request over plain HTTP: the page must show exactly what the API said.
  const direct = await postJson(`${stack.url}/v1/generations`, {
    model: 'demo-cppn',
    n: 1,
    width: 5000,
    height: 256,
    output_format: 'png',
  });
  expect(direct.status).toBe(422);
  expect(await alert.locator('.error-message').textContent()).toBe(direct.body.error.message);
  expect(await alert.locator('.error-code').textContent()).toBe(`422 · ${direct.body.error.code}`);
  const widthDetail = direct.body.error.details.find((d: { field: string }) => d.field === 'width');
  expect(await page.locator('#gen-width-error').textContent()).toBe(widthDetail.message);
  expect(await page.getByLabel('Width').getAttribute('aria-invalid')).toBe('true');
  expect(await page.locator('#gen-jobs > li').count()).toBe(0);

  // Fixing the field clears its mark.
  await page.getByLabel('Width').fill('64');
  expect(await page.getByLabel('Width').getAttribute('aria-invalid')).toBeNull();
});

test('image to image: the chosen photo comes back styled, with a zip link', async () => {
  await openPage();
  await page.getByRole('tab', { name: 'Image to image' }).click();
  await page.locator('#i2i-model').selectOption('fast-neural-style-mosaic');
  // A graph model takes only the image: the diffusion-only fields stay hidden.
  const form = page.locator('#panel-image-to-image');
  expect(await form.getByLabel('Prompt', { exact: true }).isHidden()).toBe(true);
  expect(await form.getByLabel(/^Strength/).isHidden()).toBe(true);
  await page.getByLabel(/Drop an image to transform/).setInputFiles(requireShared('images/macaw.jpg'));
  expect(await page.locator('#i2i-selected').textContent()).toContain('macaw.jpg');
  await page.getByRole('button', { name: 'Transform', exact: true }).click();

  const card = page.locator('#i2i-jobs > li').first();
  await waitUntil('the styled image has loaded', async () =>
    (await loadedWidths(card.locator('.gallery img'))).some((w) => w > 0),
  );
  const jobId = await card.getAttribute('data-job-id');
  expect(jobId).toMatch(/^i2i_/);
  const job = (await (await fetch(`${stack.url}/v1/jobs/${jobId}`)).json()) as {
    status: string;
    result: { images: { width: number }[] };
  };
  expect(job.status).toBe('succeeded');
  expect(await loadedWidths(card.locator('.gallery img'))).toEqual([job.result.images[0].width]);
  expect((await loadedWidths(card.locator('.i2i-input img')))[0]).toBeGreaterThan(0);
  expect(await card.getByRole('link', { name: 'Download zip' }).getAttribute('href')).toBe(`/v1/jobs/${jobId}/archive`);

  await page.screenshot({ path: path.join(ARTIFACTS, 'web-image-to-image.png'), fullPage: true });
});

test('tabs work from the keyboard; the API key is kept and sent with every request', async () => {
  await openPage();
  await page.getByRole('tab', { name: 'Generate' }).focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  expect(await page.locator('#tab-image-to-image:focus').count()).toBe(1);
  expect(await page.getByRole('tab', { name: 'Image to image' }).getAttribute('aria-selected')).toBe('true');
  expect(await page.locator('#panel-generate').isHidden()).toBe(true);
  expect(await page.locator('#i2i-none').isHidden()).toBe(true);
  await page.keyboard.press('Home');
  expect(await page.locator('#panel-generate').isVisible()).toBe(true);

  const sent = page.waitForRequest(
    (req) => req.url().endsWith('/v1/models') && req.headers().authorization === 'Bearer test-key',
  );
  await page.getByLabel('API key').fill('test-key');
  await page.getByLabel('API key').press('Tab');
  await sent;
  // Kept in this browser: a reload sends it from the start.
  const again = page.waitForRequest(
    (req) => req.url().endsWith('/v1/models') && req.headers().authorization === 'Bearer test-key',
  );
  await page.reload();
  await again;
  expect(await page.getByLabel('API key').inputValue()).toBe('test-key');
});

test('with API keys the page reads the event stream with fetch and its key, and shows the image it fetched', async () => {
  const key = 'web-page-key-000000000001';
  const keyed = await startStack({
    env: { API_KEYS: `web:${key}`, MODELS_PATH: path.join(DEMO_MODELS, 'demo-diffusion') },
  });
  try {
    await page.goto(`${keyed.url}/`);
    // Without the key the model list is refused, and the page says where the key goes.
    await page.locator('#banner').waitFor({ state: 'visible' });
    expect(await page.locator('#banner-text').textContent()).toContain('enter it at the top right');
    await page.getByLabel('API key').fill(key);
    await page.getByLabel('API key').press('Tab');
    await page.locator('#gen-model option[value="demo-diffusion"]').waitFor({ state: 'attached' });

    await fillDiffusion(100);
    await page.locator('#panel-generate').getByLabel('Seed', { exact: true }).fill('11');
    await page.evaluate(RECORD_CARD_STATES);
    const streamed = page.waitForResponse((res) => /\/v1\/jobs\/[^/]+\/events$/.test(new URL(res.url()).pathname));
    await page.getByRole('button', { name: 'Generate', exact: true }).click();
    expect((await streamed).status()).toBe(200);

    const card = page.locator('#gen-jobs > li').first();
    await waitUntil('the image has loaded', async () =>
      (await loadedWidths(card.locator('.gallery img'))).some((w) => w > 0),
    );
    // Steps came through the fetch reader as they do through EventSource. (Events that arrive in one
    // chunk are applied in one task, so the card shows, and the observer records, only the last of them.)
    expect(stepStates((await page.evaluate(CARD_STATES)) as string[], 100).length).toBeGreaterThanOrEqual(3);
    expect(await card.getAttribute('data-status')).toBe('succeeded');
    expect(await card.locator('.seed').allTextContents()).toEqual(['seed 11']);
    // Links cannot send the key: the image was fetched with it and is shown from a blob: URL.
    expect(await card.locator('.gallery img').getAttribute('src')).toMatch(/^blob:/);
    const jobId = (await card.getAttribute('data-job-id'))!;
    // EventSource cannot send Authorization: the stream was read with fetch, with the key.
    expect(eventStreams(jobId).map((r) => [r.type, r.authorization])).toEqual([['fetch', `Bearer ${key}`]]);
    expect(jobPolls(jobId)).toEqual([]);
  } finally {
    await keyed.stop();
  }
}, 120_000);

test('image to image says so when the server has no such model', async () => {
  // An API of its own whose only model is a generator; no worker is needed to list models.
  const bare = await startStack({ noWorkers: true, env: { MODELS_PATH: path.join(DEMO_MODELS, 'demo-cppn') } });
  try {
    await page.goto(`${bare.url}/#image-to-image`);
    await page.locator('#gen-model option').first().waitFor({ state: 'attached' });
    expect(await page.getByRole('heading', { name: 'No image-to-image models loaded' }).isVisible()).toBe(true);
    expect(await page.locator('#i2i-workspace').isHidden()).toBe(true);
    expect(await page.locator('#cls-model').textContent()).toBe('no classifier models loaded');
  } finally {
    await bare.stop();
  }
});

test('GET / is HTML that is always revalidated; versioned assets are cached for good', async () => {
  const res = await fetch(`${stack.url}/`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(res.headers.get('cache-control')).toBe('no-cache');
  expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
  const etag = res.headers.get('etag');
  expect(etag).toBeTruthy();
  const html = await res.text();
  expect(html).not.toContain('{{');
  // (fetch would add `Cache-Control: no-cache` to a conditional request unless one is given.)
  const revalidated = await fetch(`${stack.url}/`, {
    headers: { 'if-none-match': etag!, 'cache-control': 'max-age=0' },
  });
  expect(revalidated.status).toBe(304);

  const css = html.match(/href="(\/assets\/app\.css\?v=[0-9a-f]{12})"/)?.[1];
  const js = html.match(/src="(\/assets\/app\.js\?v=[0-9a-f]{12})"/)?.[1];
  expect(css && js).toBeTruthy();
  for (const [url, type] of [
    [css!, /^text\/css/],
    [js!, /^(text|application)\/javascript/],
  ] as const) {
    const asset = await fetch(`${stack.url}${url}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(type);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
  }
  // Without a version, or with one that is not the file's, the same URL may change: it is revalidated.
  for (const url of ['/assets/app.js', '/assets/app.js?v=000000000000']) {
    const bare = await fetch(`${stack.url}${url}`);
    expect(bare.headers.get('cache-control')).toBe('no-cache');
    expect(bare.headers.get('etag')).toBeTruthy();
    const again = await fetch(`${stack.url}${url}`, {
      headers: { 'if-none-match': bare.headers.get('etag')!, 'cache-control': 'max-age=0' },
    });
    expect(again.status).toBe(304);
  }

  // The modules app.js imports, and theirs, are versioned too: every URL the page loads is cached for good.
  const seen = new Set<string>();
  const pending = [js!];
  while (pending.length) {
    const url = pending.pop()!;
    const res = await fetch(`${stack.url}${url}`);
    expect([url, res.status, res.headers.get('cache-control')]).toEqual([
      url,
      200,
      'public, max-age=31536000, immutable',
    ]);
    const source = await res.text();
    const imports = [...source.matchAll(/^(?:import|export)\b[^;'"]*?\bfrom\s*'([^']+)'/gm)].map((m) => m[1]);
    for (const imported of imports) {
      expect(imported).toMatch(/^\.\/[\w-]+\.js\?v=[0-9a-f]{12}$/);
      const next = `/assets/${imported.slice(2)}`;
      if (!seen.has(next)) pending.push(next);
      seen.add(next);
    }
  }
  expect(seen.size).toBeGreaterThanOrEqual(5);
  // Type declarations are for the type checker only.
  expect((await fetch(`${stack.url}/assets/page-types.d.ts`)).status).toBe(404);

  const missing = await fetch(`${stack.url}/assets/nothing-here.js`);
  expect(missing.status).toBe(404);
  expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('route_not_found');
});
