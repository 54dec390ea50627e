import fs from 'node:fs';
import path from 'node:path';
import type { BenchModel } from './bench-options';
import { PHOTOS } from './bench-paths';
import type { BenchRequest } from './darkroom-client';
import { DIFFUSION_SETTINGS } from './inline-diffusion';
import type { WorkItem } from './inline-model';

/** The same work expressed for darkroom's API, the naive server and the inline ceiling loop. */
export interface Workload {
  model: BenchModel;
  /** Images one request asks for. */
  imagesPerRequest: number;
  /** How the requests are made, for the report. */
  describe: string;
  darkroom(seq: number): BenchRequest;
  naive(seq: number): BenchRequest;
  /** Inputs for the ceiling loop (seq counts items). */
  item(seq: number): WorkItem;
}

interface Photo {
  name: string;
  bytes: Buffer;
  blob: Blob;
}

/** The photos in ../shared/images (not the bad/ inputs), read once. */
function loadPhotos(): Photo[] {
  const names = fs
    .readdirSync(PHOTOS)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort();
  if (!names.length) throw new Error(`no photos in ${PHOTOS}`);
  return names.map((name) => {
    const bytes = fs.readFileSync(path.join(PHOTOS, name));
    return {
      name,
      bytes,
      blob: new Blob([new Uint8Array(bytes)], { type: name.endsWith('.png') ? 'image/png' : 'image/jpeg' }),
    };
  });
}

const PROMPTS = [
  'a red apple on a blue table',
  'a yellow sun over a green field',
  'a purple flower in a white vase',
  'an orange boat on a cyan sea',
];
// Distinct seeds per run, so no result could come from an earlier one.
const SEED_BASE = Math.floor(Math.random() * 1_000_000) * 1000;

const jsonPost = (path: string, body: unknown): BenchRequest => ({
  path,
  init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
});

/** Generation requests: darkroom's body, and the same body to the naive server. */
function generation(
  model: BenchModel,
  n: number,
  describe: string,
  extra: (seq: number) => Record<string, unknown>,
): Workload {
  const body = (seq: number) => ({ model, n, seed: SEED_BASE + seq * n, output_format: 'png', ...extra(seq) });
  return {
    model,
    imagesPerRequest: n,
    describe,
    darkroom: (seq) => jsonPost('/v1/generations', body(seq)),
    naive: (seq) => jsonPost('/generate', body(seq)),
    item: (seq) => ({ seed: SEED_BASE + seq, prompt: String(extra(seq).prompt ?? '') }),
  };
}

export function workloadFor(model: BenchModel): Workload {
  switch (model) {
    case 'mobilenetv2-12-int8': {
      const photos = loadPhotos();
      const photo = (seq: number) => photos[seq % photos.length];
      return {
        model,
        imagesPerRequest: 1,
        describe: `1 photo per request, the ${photos.length} photos of ../shared/images in turn (multipart upload to darkroom, raw body to the naive server)`,
        darkroom(seq) {
          const form = new FormData();
          form.append('model', model);
          form.append('image', photo(seq).blob, photo(seq).name);
          return { path: '/v1/classifications', init: { method: 'POST', body: form } };
        },
        naive: (seq) => ({
          path: `/classify?model=${model}`,
          init: {
            method: 'POST',
            headers: { 'content-type': 'application/octet-stream' },
            body: new Uint8Array(photo(seq).bytes),
          },
        }),
        item: (seq) => ({ image: photo(seq).bytes, seed: seq, prompt: '' }),
      };
    }
    case 'omori-sprite-gan':
      return generation(
        model,
        16,
        "n = 16 sprites per request (32x32 PNG, the model's size), a new seed each",
        () => ({}),
      );
    case 'demo-diffusion': {
      const { width, height, steps, scheduler, guidance_scale } = DIFFUSION_SETTINGS;
      return generation(
        model,
        1,
        `n = 1 image per request, ${width}x${height} PNG, ${steps} ${scheduler} steps, guidance ${guidance_scale}, 4 prompts in turn, a new seed each`,
        (seq) => ({
          prompt: PROMPTS[seq % PROMPTS.length],
          width,
          height,
          steps,
          scheduler,
          guidance_scale,
        }),
      );
    }
  }
}
