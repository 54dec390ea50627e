import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { requestJson, waitForJob } from '../helpers/api-client';
import { requireShared } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';
import { readZip } from '../helpers/zip-reader';

/**
 * More than 100 bad requests: hostile files from ../shared, damaged and oversized images made
 * here, and malformed or out-of-range requests on every route. Every one gets a 4xx with a stable
 * error code (or, for damage an image survives, a correct job); no 5xx; the worker never crashes
 * and its memory stays bounded.
 */
const BAD = requireShared('images/bad');
const PHOTO = fs.readFileSync(path.join(requireShared('images'), 'goldfish.jpg'));
const WORKER_PEAK_MB = 1500;

interface Case {
  name: string;
  path: string;
  init: RequestInit;
  /** Damaged images that may still decode: a completed job is an acceptable answer. */
  mayDecode?: boolean;
}

const json = (p: string, body: unknown, name = `${p} ${JSON.stringify(body).slice(0, 60)}`): Case => ({
  name,
  path: p,
  init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
});
const raw = (
  name: string,
  p: string,
  contentType: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Case => ({
  name,
  path: p,
  init: {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body: new Uint8Array(body instanceof Buffer ? body : Buffer.from(body)),
  },
});
const upload = (
  name: string,
  data: Buffer,
  fields: Record<string, string> = { model: 'demo-colors' },
  mayDecode = false,
): Case => {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  form.append('image', new Blob([new Uint8Array(data)]), name);
  return { name: `upload ${name}`, path: '/v1/classifications', init: { method: 'POST', body: form }, mayDecode };
};

/** A PNG whose header claims `w` x `h` pixels but carries almost no data: a decompression bomb. */
function pngClaiming(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 0, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function buildCorpus(): Promise<Case[]> {
  const cases: Case[] = [];
  // 1. The shared hostile files that must be refused (the acceptable ones are tested elsewhere).
  const manifest = JSON.parse(fs.readFileSync(path.join(BAD, 'manifest.json'), 'utf8')) as Record<
    string,
    { expected_handling: string; imagenet_labels?: number[] }
  >;
  for (const [file, m] of Object.entries(manifest)) {
    if (file.startsWith('_') || m.imagenet_labels || /valid|first frame|swap|convert/.test(m.expected_handling))
      continue;
    cases.push(upload(file, fs.readFileSync(path.join(BAD, file))));
  }
  // 2. Truncated JPEGs and PNGs.
  const png = await sharp(PHOTO).png().toBuffer();
  for (const fraction of [0.02, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]) {
    cases.push(upload(`goldfish-truncated-${fraction}.jpg`, PHOTO.subarray(0, Math.floor(PHOTO.length * fraction))));
    cases.push(upload(`goldfish-truncated-${fraction}.png`, png.subarray(0, Math.floor(png.length * fraction))));
  }
  // 3. Bit flips: in the header they break the file; in the data the image may survive.
  for (let i = 0; i < 12; i++) {
    const copy = Buffer.from(PHOTO);
    const at = i < 6 ? 2 + i * 37 : Math.floor(copy.length * (0.2 + i * 0.05));
    copy[at] ^= 0xff;
    cases.push(upload(`goldfish-bitflip-${at}.jpg`, copy, undefined, true));
  }
  // 4. Pixel bombs and huge dimensions.
  cases.push(upload('bomb-60000x60000.png', pngClaiming(60_000, 60_000)));
  cases.push(upload('bomb-100000x1.png', pngClaiming(100_000, 1_000)));
  cases.push(
    upload(
      'huge-9000x5000.jpg',
      await sharp({ create: { width: 9000, height: 5000, channels: 3, background: '#000' } })
        .jpeg()
        .toBuffer(),
    ),
  );
  // 5. Not images.
  for (const [name, data] of [
    ['empty.png', Buffer.alloc(0)],
    ['html.jpg', Buffer.from('<html></html>')],
    ['zeros.webp', Buffer.alloc(4096)],
    ['pdf.png', Buffer.from('%PDF-1.7\n%âãÏÓ\n')],
    ['gzip.jpg', zlib.gzipSync(PHOTO)],
  ] as const) {
    cases.push(upload(name, data));
  }
  // 6. Wrong content types and empty or oversized bodies.
  cases.push(raw('text body', '/v1/classifications', 'text/plain', 'hello'));
  cases.push(raw('xml body', '/v1/classifications', 'application/xml', '<images/>'));
  cases.push(raw('raw image body', '/v1/classifications', 'image/jpeg', PHOTO));
  cases.push(raw('urlencoded body', '/v1/classifications', 'application/x-www-form-urlencoded', 'image=abc'));
  cases.push(raw('image-to-image text body', '/v1/image-to-image', 'text/plain', 'x'));
  cases.push(raw('empty classification', '/v1/classifications', 'application/json', ''));
  cases.push(raw('empty batch', '/v1/batches', 'application/json', ''));
  cases.push(json('/v1/classifications', { images: ['A'.repeat(34 * 1024 * 1024)] }, 'json over the body limit'));
  cases.push(upload('over the upload limit.jpg', Buffer.concat([PHOTO, Buffer.alloc(21 * 1024 * 1024)])));
  const many = new FormData();
  for (let i = 0; i < 17; i++) many.append('image', new Blob([new Uint8Array(PHOTO)]), `p${i}.jpg`);
  cases.push({ name: '17 images', path: '/v1/classifications', init: { method: 'POST', body: many } });
  // 7. Malformed JSON.
  for (const body of ['{', '[1,2', 'nul', '{"n":}', '{"n":1} trailing', '"just a string"', '{"n": 1, "n": }'])
    cases.push(raw(`malformed json ${body}`, '/v1/generations', 'application/json', body));
  // 8. Malformed multipart.
  cases.push(raw('multipart without boundary', '/v1/classifications', 'multipart/form-data', 'x'));
  cases.push(
    raw(
      'multipart wrong boundary',
      '/v1/classifications',
      'multipart/form-data; boundary=zzz',
      '--abc\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\nxx\r\n--abc--',
    ),
  );
  cases.push(
    raw(
      'multipart truncated part',
      '/v1/classifications',
      'multipart/form-data; boundary=b',
      '--b\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\n\xff\xd8',
    ),
  );
  cases.push(
    raw(
      'multipart unexpected file field',
      '/v1/classifications',
      'multipart/form-data; boundary=b',
      '--b\r\nContent-Disposition: form-data; name="avatar"; filename="a.jpg"\r\n\r\nxx\r\n--b--\r\n',
    ),
  );
  cases.push(
    raw(
      'multipart bad top_k',
      '/v1/classifications',
      'multipart/form-data; boundary=b',
      '--b\r\nContent-Disposition: form-data; name="top_k"\r\n\r\nlots\r\n--b--\r\n',
    ),
  );
  // 9. Out-of-range and wrong-typed parameters, unknown models, prompts over the limit.
  const g = '/v1/generations';
  for (const body of [
    { n: 0 },
    { n: 17 },
    { n: 1e9 },
    { n: '2' },
    { n: 1.5 },
    { width: -1 },
    { width: 5000 },
    { width: 99999 },
    { height: 1.5 },
    { height: 'tall' },
    { seed: -1 },
    { seed: 2 ** 33 },
    { seed: 'abc' },
    { output_format: 'gif' },
    { model: 123 },
    { model: 'nope' },
    { model: '../../etc/passwd' },
    { model: 'mobilenetv2-12-int8' },
    { prompt: 123 },
    { prompt: 'x'.repeat(3000) },
    { unexpected: true },
    { model: 'demo-diffusion', steps: 0 },
    { model: 'demo-diffusion', steps: 100000 },
    { model: 'demo-diffusion', steps: 151 },
    { model: 'demo-diffusion', guidance_scale: -1 },
    { model: 'demo-diffusion', guidance_scale: 1000 },
    { model: 'demo-diffusion', scheduler: 'pndm' },
    { model: 'demo-diffusion', width: 100 },
    { model: 'demo-diffusion', width: 4096, height: 4096 },
    { model: 'demo-diffusion', negative_prompt: 'y'.repeat(3000) },
    { model: 'demo-cppn', steps: 4 },
    { model: 'omori-sprite-gan', prompt: 'a cat' },
  ])
    cases.push(json(g, body));
  const c = '/v1/classifications';
  const b64 = PHOTO.toString('base64');
  for (const body of [
    { images: [] },
    { images: 'notalist' },
    { images: [b64], top_k: 0 },
    { images: [b64], top_k: 21 },
    { images: [b64], model: 'nope' },
    { images: [b64], model: 'demo-cppn' },
    { images: ['!!!'] },
    { images: ['data:image/png;base64,@@@'] },
    { images: [123] },
    { images: [b64], extra: 1 },
  ])
    cases.push(json(c, body, `${c} ${JSON.stringify(body).slice(0, 40)}`));
  const i2i = '/v1/image-to-image';
  for (const body of [
    {},
    { image: 'AAAA', model: 'demo-diffusion' },
    { image: b64, model: 'nope' },
    { image: b64, model: 'demo-diffusion', strength: 2 },
    { image: b64, model: 'demo-cppn' },
    { image: b64, model: 'demo-diffusion', width: 12 },
  ])
    cases.push(json(i2i, body, `${i2i} ${JSON.stringify(body).slice(0, 40)}`));
  const bt = '/v1/batches';
  for (const body of [
    {},
    { requests: [] },
    { requests: [{ type: 'teleport' }] },
    { requests: [{ type: 'generation', n: 99 }] },
    { requests: Array.from({ length: 101 }, () => ({ type: 'generation' })) },
    { requests: [{ type: 'classification', images: ['***'] }] },
  ])
    cases.push(json(bt, body, `${bt} ${JSON.stringify(body).slice(0, 40)}`));
  // 10. Bodies a route cannot read, or must not parse: other types, deep nesting, gzip bombs, huge arrays.
  for (const p of ['/v1/generations', '/v1/batches', '/v1/images/generations']) {
    cases.push(
      raw(`${p} curl -d JSON as a form`, p, 'application/x-www-form-urlencoded', '{"prompt":"a red circle","n":2}'),
    );
    cases.push(raw(`${p} form field`, p, 'application/x-www-form-urlencoded', 'prompt=hi'));
    cases.push(raw(`${p} nested 40 deep`, p, 'application/json', `{"prompt": ${'['.repeat(40)}${']'.repeat(40)}}`));
  }
  cases.push(
    raw(
      'generation as multipart',
      '/v1/generations',
      'multipart/form-data; boundary=b',
      '--b\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhi\r\n--b--\r\n',
    ),
  );
  cases.push(
    raw(
      'classification nested 40 deep',
      '/v1/classifications',
      'application/json',
      `{"images": ${'['.repeat(40)}${']'.repeat(40)}}`,
    ),
  );
  cases.push(
    raw('gzip of 16 million [', '/v1/generations', 'application/json', zlib.gzipSync(Buffer.alloc(16_000_000, '[')), {
      'content-encoding': 'gzip',
    }),
  );
  cases.push(
    raw(
      'gzip inflating past MAX_JSON_BYTES',
      '/v1/generations',
      'application/json',
      zlib.gzipSync(Buffer.from(`{"prompt":"${'a'.repeat(40 * 1024 * 1024)}"}`)),
      { 'content-encoding': 'gzip' },
    ),
  );
  cases.push(
    raw('not gzip at all', '/v1/generations', 'application/json', '{"prompt":"x"}', { 'content-encoding': 'gzip' }),
  );
  cases.push(
    raw('unknown content-encoding', '/v1/generations', 'application/json', '{"prompt":"x"}', {
      'content-encoding': 'compress',
    }),
  );
  cases.push(raw('latin-1 JSON', '/v1/generations', 'application/json; charset=latin1', '{"prompt":"x"}'));
  cases.push(json('/v1/classifications', { images: Array(17).fill(b64.slice(0, 8)) }, '17 base64 images'));
  cases.push(json('/v1/classifications', { images: Array(100_000).fill('A') }, '100,000 base64 images'));
  cases.push(
    json(bt, { requests: [{ type: 'classification', images: Array(17).fill('A') }] }, 'batch item with 17 images'),
  );
  cases.push(json(bt, { requests: Array(10_001).fill({ type: 'generation' }) }, 'batch of 10,001 requests'));
  cases.push(
    json(
      g,
      { webhook: { url: 'https://example.com/hook', events: Array(1000).fill('succeeded') } },
      'webhook with 1000 events',
    ),
  );
  const twoBig = new FormData();
  for (let i = 0; i < 2; i++) twoBig.append('image', new Blob([new Uint8Array(12 * 1024 * 1024)]), `big-${i}.jpg`);
  cases.push({
    name: 'two 12 MB parts (over the upload limit together)',
    path: '/v1/classifications',
    init: { method: 'POST', body: twoBig },
  });
  cases.push(json('/v1/images/generations', { prompt: 'x', size: 'huge' }));
  cases.push(json('/v1/images/generations', { size: '256x256' }));
  cases.push({ name: 'unknown job', path: '/v1/jobs/gen_00000000-0000-7000-8000-000000000000', init: {} });
  cases.push({ name: 'not an id', path: '/v1/jobs/%2e%2e%2f%2e%2e', init: {} });
  return cases;
}

let stack: Stack;
let corpus: Case[];
beforeAll(async () => {
  stack = await startStack({ env: { RATE_LIMIT_PER_MINUTE: '100000' } });
  corpus = await buildCorpus();
});
afterAll(async () => {
  await stack?.stop();
});

test('the corpus has more than 100 bad requests', () => {
  expect(corpus.length).toBeGreaterThanOrEqual(100);
});

test('every bad request gets a 4xx with a stable code, never a 5xx', async () => {
  const outcomes: { name: string; status: number; code?: string }[] = [];
  for (const c of corpus) {
    const res = await requestJson(`${stack.url}${c.path}`, c.init);
    outcomes.push({ name: c.name, status: res.status, code: res.body?.error?.code });
    if (res.status === 202 && c.mayDecode) {
      const job = await waitForJob(stack.url, res.body.id);
      // Damage the decoder tolerates is a usable image; anything else is a clean client error.
      expect({ name: c.name, status: job.status, code: job.error?.code }).toMatchObject({ status: 'succeeded' });
      continue;
    }
    expect({
      name: c.name,
      status: res.status >= 400 && res.status < 500 ? '4xx' : res.status,
      code: res.body?.error?.code,
    }).toEqual({ name: c.name, status: '4xx', code: expect.stringMatching(/^[a-z][a-z0-9_]*$/) });
  }
  expect(outcomes.filter((o) => o.status >= 500)).toEqual([]);
}, 240_000);

test('the worker survived the corpus with bounded memory', async () => {
  for (const w of stack.workers) {
    expect(w.child.exitCode).toBeNull();
    const peakMb = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${w.child.pid}/status`, 'utf8'))![1]) / 1024;
    expect({ peakMb, ok: peakMb < WORKER_PEAK_MB }).toMatchObject({ ok: true });
  }
  const res = await requestJson(`${stack.url}/v1/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"model":"omori-sprite-gan"}',
  });
  expect((await waitForJob(stack.url, res.body.id)).status).toBe('succeeded');
});

test('outputs and zips never carry the input EXIF or GPS metadata', async () => {
  const tagged = await sharp(PHOTO)
    .withExif({
      IFD0: { Make: 'darkroom-test-camera' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '52/1 31/1 1234/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '13/1 24/1 0/1',
      },
    })
    .jpeg()
    .toBuffer();
  expect((await sharp(tagged).metadata()).exif?.includes(Buffer.from('darkroom-test-camera'))).toBe(true);
  const form = new FormData();
  form.set('model', 'demo-diffusion');
  form.set('steps', '4');
  form.set('strength', '0.5');
  form.append('image', new Blob([new Uint8Array(tagged)]), 'gps.jpg');
  const res = await requestJson(`${stack.url}/v1/image-to-image`, { method: 'POST', body: form });
  const job = await waitForJob(stack.url, res.body.id);
  expect(job.status).toBe('succeeded');
  const zip = readZip(Buffer.from(await (await fetch(`${stack.url}/v1/jobs/${job.id}/archive`)).arrayBuffer()));
  const images = zip.filter((f) => f.name !== 'manifest.json');
  expect(images.map((f) => f.name).sort()).toEqual(['image-000.png', 'input-000.jpg']);
  for (const f of images) {
    const meta = await sharp(f.data).metadata();
    expect({ name: f.name, exif: meta.exif, xmp: meta.xmp }).toEqual({ name: f.name, exif: undefined, xmp: undefined });
    expect(f.data.includes(Buffer.from('darkroom-test-camera'))).toBe(false);
  }
});
