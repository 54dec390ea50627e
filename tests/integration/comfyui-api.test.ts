import { Client, HttpError, type ComfyUiWsTypes } from '@stable-canvas/comfyui-client';
import sharp from 'sharp';
import WebSocket from 'ws';
import path from 'node:path';
import { DEMO_MODELS, FIXTURE_MODELS, REPO, requireShared } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';

/**
 * ComfyUI's API driven by a real ComfyUI client (@stable-canvas/comfyui-client): workflows in
 * ComfyUI's API format become darkroom jobs on the demo diffusion model; progress arrives over the
 * websocket and the images are downloaded from GET /view. Keys are on: each key sees its own prompts.
 */

const ALICE = 'alice-comfy-key-0123456789';
const BOB = 'bob-comfy-key-0123456789';
const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

/** The client with a key on every request and on its websocket (as Open WebUI sends it). */
function clientFor(stack: Stack, key: string, clientId: string): Client {
  const fetchWithKey = (url: string, init: RequestInit = {}) =>
    fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), ...auth(key) } });
  class KeyedWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { headers: auth(key) });
    }
  }
  return new Client({ api_host: new URL(stack.url).host, clientId, fetch: fetchWithKey, WebSocket: KeyedWebSocket });
}

/** ComfyUI's default text-to-image workflow (its "Save (API Format)" export), at the demo model's scale. */
function textToImage(seed: number, extra: { denoise?: number } = {}) {
  return {
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed,
        steps: 4,
        cfg: 7.5,
        sampler_name: 'euler',
        scheduler: 'normal',
        denoise: extra.denoise ?? 1,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
      },
    },
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'demo-diffusion' } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a red lighthouse', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] } },
  } as Record<string, { class_type: string; inputs: Record<string, unknown> }>;
}

/** The same with the latent encoded from an uploaded image: image to image. */
function imageToImage(seed: number, image: string, denoise: number) {
  const wf = textToImage(seed, { denoise });
  delete wf['5'];
  wf['10'] = { class_type: 'LoadImage', inputs: { image } };
  wf['11'] = { class_type: 'VAEEncode', inputs: { pixels: ['10', 0], vae: ['4', 2] } };
  wf['3'].inputs.latent_image = ['11', 0];
  return wf;
}

interface Message {
  type: string;
  data: Record<string, unknown>;
}

/** Every JSON message the client's websocket receives, and a wait for the one that ends a prompt. */
function recordMessages(client: Client) {
  const messages: Message[] = [];
  const waiters: { id: string; resolve: () => void }[] = [];
  client.on('message', (event: MessageEvent) => {
    if (typeof event.data !== 'string') return;
    const m = JSON.parse(event.data) as Message;
    messages.push(m);
    if (m.type === 'executing' && m.data.node === null)
      for (const w of waiters.filter((w) => w.id === m.data.prompt_id)) w.resolve();
  });
  return {
    of: (id: string) => messages.filter((m) => m.data.prompt_id === id),
    ended: (id: string) =>
      messages.some((m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === id)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ id, resolve })),
  };
}

async function download(url: string, key: string) {
  const res = await fetch(url, { headers: auth(key) });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

let stack: Stack;
let client: Client;
let log: ReturnType<typeof recordMessages>;
beforeAll(async () => {
  const imageModels = path.join(REPO, 'tests', 'fixtures', 'models-image');
  stack = await startStack({
    env: {
      API_KEYS: `alice:${ALICE},bob:${BOB}`,
      MODELS_PATH: [DEMO_MODELS, FIXTURE_MODELS, imageModels].join(','),
      MAX_OPEN_STREAMS_PER_KEY: '4',
    },
  });
  client = clientFor(stack, ALICE, 'alice-tab-1');
  log = recordMessages(client);
  await client.connect();
});
afterAll(async () => {
  client?.close();
  await stack?.stop();
});

test("object_info offers darkroom's diffusion models as ckpt_name and its schedulers as sampler names", async () => {
  const info = await client.getNodeDefs();
  expect(await client.getSDModels()).toContain('demo-diffusion');
  expect(await client.getSamplers()).toEqual(expect.arrayContaining(['euler', 'euler_ancestral', 'ddim', 'lcm']));
  expect(Object.keys(info)).toEqual(expect.arrayContaining(['KSampler', 'SaveImage', 'VAEEncode', 'LoadImage']));
  expect((await client.getSystemStats()).system).toHaveProperty('ram_total');
});

test('text to image: progress over the websocket in ComfyUI order, then the image from /view', async () => {
  const progress: ComfyUiWsTypes.Messages.Progress[] = [];
  const out = await client.enqueue(textToImage(2 ** 50 + 12345), {
    progress: (p) => progress.push(p),
    disable_random_seed: true,
  });
  await log.ended(out.prompt_id);
  expect(progress.length).toBeGreaterThan(0);
  expect(progress.at(-1)).toMatchObject({ value: 4, max: 4, node: '3', prompt_id: out.prompt_id });
  const sequence = log.of(out.prompt_id).map((m) => (m.type === 'executing' ? `executing:${m.data.node}` : m.type));
  expect(sequence.filter((t) => t !== 'progress')).toEqual([
    'execution_start',
    'execution_cached',
    'executing:4',
    'executing:6',
    'executing:7',
    'executing:5',
    'executing:3',
    'executing:8',
    'executing:9',
    'executed',
    'execution_success',
    'executing:null',
  ]);
  expect(sequence.indexOf('progress')).toBeGreaterThan(sequence.indexOf('executing:3'));

  expect(out.images).toHaveLength(1);
  const image = await download((out.images[0] as { data: string }).data, ALICE);
  expect(await sharp(image).metadata()).toMatchObject({ format: 'png', width: 64, height: 64 });

  const history = await client.getHistory();
  const entry = history.History.find((h) => h.prompt[1] === out.prompt_id)!;
  expect(entry.status).toMatchObject({ status_str: 'success', completed: true });
  expect(entry.outputs['9'].images[0]).toMatchObject({ subfolder: '', type: 'output' });
});

test('seeds up to 2^64-1 are accepted and folded into the job deterministically; the same seed, the same bytes', async () => {
  const run = async (seed: number) => {
    const out = await client.enqueue(textToImage(seed), { disable_random_seed: true });
    const job = await fetch(`${stack.url}/v1/jobs/${out.prompt_id}`, { headers: auth(ALICE) });
    const { params } = (await job.json()) as { params: { seed: number } };
    return { seed: params.seed, image: await download((out.images[0] as { data: string }).data, ALICE) };
  };
  const [a, b, c, max] = [
    await run(2 ** 52 + 7),
    await run(2 ** 52 + 7),
    await run(2 ** 52 + 8),
    await run(2 ** 64 - 1),
  ];
  // The fold XORs the high 32 bits into the low ones: (2^52 + 7) -> 2^20 ^ 7.
  expect([a.seed, b.seed, c.seed]).toEqual([2 ** 20 + 7, 2 ** 20 + 7, 2 ** 20 + 8]);
  expect(max.seed).toBeLessThan(2 ** 32);
  expect(a.image.equals(b.image)).toBe(true);
});

/** POST /upload/image as ComfyUI's frontend sends it; returns the name LoadImage takes. */
async function upload(image: Buffer, filename: string): Promise<string> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(image)], { type: 'image/png' }), filename);
  form.append('overwrite', 'true');
  const res = await fetch(`${stack.url}/upload/image`, { method: 'POST', body: form, headers: auth(ALICE) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { name: string }).name;
}

test('image to image: an uploaded photo through VAEEncode with denoise', async () => {
  const photo = await sharp(requireShared('images/tabby_cat.jpg')).resize(64, 64).png().toBuffer();
  const name = await upload(photo, 'cat.png');
  expect(name).toBe('cat.png');

  const progress: number[] = [];
  const out = await client.enqueue(imageToImage(42, name, 0.5), {
    progress: (p) => progress.push(p.value),
    disable_random_seed: true,
  });
  await log.ended(out.prompt_id);
  expect(progress.length).toBeGreaterThan(0);
  const image = await download((out.images[0] as { data: string }).data, ALICE);
  expect(await sharp(image).metadata()).toMatchObject({ format: 'png', width: 64, height: 64 });
  expect(image.equals(photo)).toBe(false);
});

test("UpscaleModelLoader + ImageUpscaleWithModel run darkroom's image-to-image model (superres x3)", async () => {
  expect(await client.getUpscaleModels()).toContain('superres-y-x3');
  const photo = await sharp(requireShared('images/tabby_cat.jpg')).resize(64, 48).png().toBuffer();
  const name = await upload(photo, 'small-cat.png');
  const out = await client.enqueue({
    '1': { class_type: 'LoadImage', inputs: { image: name } },
    '2': { class_type: 'UpscaleModelLoader', inputs: { model_name: 'superres-y-x3' } },
    '3': { class_type: 'ImageUpscaleWithModel', inputs: { upscale_model: ['2', 0], image: ['1', 0] } },
    '4': { class_type: 'SaveImage', inputs: { filename_prefix: 'up', images: ['3', 0] } },
  });
  await log.ended(out.prompt_id);
  const image = await download((out.images[0] as { data: string }).data, ALICE);
  expect(await sharp(image).metadata()).toMatchObject({ width: 192, height: 144 });
});

test('GET /queue lists a running prompt; POST /interrupt cancels it, told as execution_interrupted', async () => {
  const wf = textToImage(3);
  Object.assign(wf['3'].inputs, { steps: 150 });
  Object.assign(wf['5'].inputs, { width: 1024, height: 1024 }); // long enough to be caught running on a fast machine
  const { prompt_id: id } = await client._enqueue_prompt(wf);
  const running = new Promise<void>((resolve) => {
    const off = client.on('progress', (p) => p.prompt_id === id && (off(), resolve()));
  });
  await running;
  const queue = await client.getQueue();
  expect(queue.Running.map((item) => item[1])).toEqual([id]);
  await client.interrupt();
  await log.ended(id);
  expect(log.of(id).map((m) => m.type)).toContain('execution_interrupted');
  const job = (await (await fetch(`${stack.url}/v1/jobs/${id}`, { headers: auth(ALICE) })).json()) as {
    status: string;
  };
  expect(job.status).toBe('canceled');
  expect((await client.getQueue()).Running).toEqual([]);
});

test('a node darkroom does not run: 400 whose node_errors name the node and why', async () => {
  const wf = textToImage(1);
  wf['12'] = { class_type: 'LoraLoader', inputs: { model: ['4', 0], clip: ['4', 1], lora_name: 'x.safetensors' } };
  wf['3'].inputs.sampler_name = 'dpmpp_2m';
  const err = await client._enqueue_prompt(wf).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  expect((err as HttpError).status).toBe(400);
  const body = (err as HttpError).json;
  expect(body.error.type).toBe('prompt_outputs_failed_validation');
  expect(body.node_errors['12']).toMatchObject({ class_type: 'LoraLoader', errors: [{ type: 'node_not_supported' }] });
  expect(body.node_errors['3'].errors[0]).toMatchObject({
    type: 'value_not_in_list',
    extra_info: { input_name: 'sampler_name' },
  });
});

test("darkroom's own limits come back as node_errors on the node that set them", async () => {
  const wf = textToImage(1);
  wf['5'].inputs.width = 2000;
  const res = await fetch(`${stack.url}/prompt`, {
    method: 'POST',
    headers: { ...auth(ALICE), 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: wf }),
  });
  expect(res.status).toBe(400);
  const body = (await res.json()) as { node_errors: Record<string, unknown> };
  expect(body.node_errors['5']).toMatchObject({
    class_type: 'EmptyLatentImage',
    errors: [{ type: 'size_out_of_range' }],
  });
});

test("keys: another key sees none of alice's prompts or files; the websocket needs a key", async () => {
  const out = await client.enqueue(textToImage(9), { disable_random_seed: true });
  const url = (out.images[0] as { data: string }).data;
  expect((await fetch(url, { headers: auth(BOB) })).status).toBe(404);
  const bobHistory = await fetch(`${stack.url}/history/${out.prompt_id}`, { headers: auth(BOB) });
  expect(await bobHistory.json()).toEqual({});
  expect((await fetch(`${stack.url}/history/${out.prompt_id}`)).status).toBe(401);

  const wsUrl = `${stack.url.replace('http', 'ws')}/ws?clientId=x`;
  const refused = await new Promise<number>((resolve) => {
    const ws = new WebSocket(wsUrl);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => resolve(101));
  });
  expect(refused).toBe(401);
  const status = await new Promise<Message>((resolve, reject) => {
    const ws = new WebSocket(`${wsUrl}&token=${BOB}`);
    // Resolved once closed, so this socket no longer counts against bob's below.
    ws.on('message', (data) => (ws.once('close', () => resolve(JSON.parse(String(data)))), ws.close()));
    ws.on('error', reject);
  });
  expect(status).toMatchObject({ type: 'status', data: { status: { exec_info: { queue_remaining: 0 } }, sid: 'x' } });

  // Open websockets count per key like event streams (MAX_OPEN_STREAMS_PER_KEY, 4 here).
  const connect = () =>
    new Promise<{ code: number; ws: WebSocket }>((resolve) => {
      const ws = new WebSocket(`${wsUrl}&token=${BOB}`);
      ws.on('unexpected-response', (_req, res) => resolve({ code: res.statusCode ?? 0, ws }));
      ws.on('message', () => resolve({ code: 101, ws }));
    });
  const opened = [];
  for (let i = 0; i < 4; i++) opened.push(await connect());
  expect(opened.map((o) => o.code)).toEqual([101, 101, 101, 101]);
  expect((await connect()).code).toBe(429);
  for (const { ws } of opened) ws.close();
});
