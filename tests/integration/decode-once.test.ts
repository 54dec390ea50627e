import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { decodeImage } from '../../src/imaging/image-codec';
import { classifierInputDecode, classifierManifestSchema } from '../../src/models/kinds/classifier';
import { requestJson, waitForJob } from '../helpers/api-client';
import { DEMO_MODELS, FIXTURE_MODELS, REPO, requirePath, requireShared } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';

/**
 * Decode once, at the edge: the API decodes each upload the way the job's model takes it while it
 * checks it, and stages those pixels; the worker reads them and never decodes the upload.
 */
const IMAGES = requireShared('images');
const IMAGE_MODELS = requirePath(
  path.join(REPO, 'tests', 'fixtures', 'models-image'),
  'the image-to-image fixture manifests',
  'they are part of the repository',
);
const expected: Record<string, { labels: number[]; difficulty: string }> = JSON.parse(
  fs.readFileSync(path.join(IMAGES, 'expected.json'), 'utf8'),
);
const [photo, { labels: accepted }] = Object.entries(expected).find(
  ([name, e]) => !name.startsWith('_') && e.difficulty === 'easy',
)!;
const MODEL = 'mobilenetv2-12-int8';
const manifest = classifierManifestSchema.parse(
  JSON.parse(fs.readFileSync(path.join(FIXTURE_MODELS, MODEL, 'model.json'), 'utf8')),
);

let stack: Stack;
beforeAll(async () => {
  // No worker yet: each test looks at what the API staged before a worker runs the job.
  stack = await startStack({
    noWorkers: true,
    env: { MODELS_PATH: [DEMO_MODELS, FIXTURE_MODELS, IMAGE_MODELS].join(',') },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const blob = (key: string) => path.join(stack.dataDir, 'blobs', key);

async function submit(route: string, model: string, file: string): Promise<string> {
  const form = new FormData();
  form.set('model', model);
  form.append('image', new Blob([fs.readFileSync(file)]), path.basename(file));
  const res = await requestJson(`${stack.url}${route}`, { method: 'POST', body: form });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

/** Puts bytes that no decoder accepts where the upload was, so a worker that decodes it fails the job. */
function spoilUpload(id: string): void {
  fs.writeFileSync(blob(`jobs/${id}/inputs/0`), Buffer.from('not an image any more'));
}

test('a classification job carries the pixels its model takes, and the worker runs it without the upload', async () => {
  const file = path.join(IMAGES, photo);
  const id = await submit('/v1/classifications', MODEL, file);
  const staged = fs.readFileSync(blob(`jobs/${id}/inputs-pixels/0`));
  // Exactly the decode the worker did before: same recipe, same pixels.
  const reference = await decodeImage(fs.readFileSync(file), classifierInputDecode(manifest, { maxImagePixels: 1e8 }));
  expect({ width: reference.width, height: reference.height, bytes: staged.length }).toEqual({
    width: manifest.preprocess.width,
    height: manifest.preprocess.height,
    bytes: manifest.preprocess.width * manifest.preprocess.height * 3,
  });
  expect(staged.equals(reference.data)).toBe(true);

  spoilUpload(id);
  await stack.addWorker();
  const job = await waitForJob(stack.url, id);
  expect(job.status).toBe('succeeded');
  expect(accepted).toContain(job.result.predictions[0].labels[0].class_index);
});

test('an image-to-image job of any input size runs from staged pixels too', async () => {
  const id = await submit('/v1/image-to-image', 'superres-y-x3', path.join(IMAGES, photo));
  expect(fs.existsSync(blob(`jobs/${id}/inputs-pixels/0`))).toBe(true);
  spoilUpload(id);
  const job = await waitForJob(stack.url, id);
  expect(job).toMatchObject({ status: 'succeeded', result: { images: [{ index: 0 }] } });
});

test('a job without staged pixels (from an older API) is decoded by the worker, with the same labels', async () => {
  const withPixels = await submit('/v1/classifications', MODEL, path.join(IMAGES, photo));
  const first = await waitForJob(stack.url, withPixels);

  // The payload an API without decode-once wrote: the upload only.
  const queue = new Queue(`classification@${MODEL}`, {
    connection: { url: stack.env.REDIS_URL },
    prefix: stack.env.QUEUE_PREFIX ?? 'darkroom',
  });
  try {
    await stack.workers[0].stop();
    const id = await submit('/v1/classifications', MODEL, path.join(IMAGES, photo));
    const job = await queue.getJob(id);
    // With the digest of the pixels it staged, which the worker's result cache keys on.
    const staged = fs.readFileSync(blob(`jobs/${id}/inputs-pixels/0`));
    expect(job?.data.inputs[0].pixels).toMatchObject({ sha256: createHash('sha256').update(staged).digest('hex') });
    const { pixels: _pixels, ...upload } = job!.data.inputs[0];
    await job!.updateData({ ...job!.data, inputs: [upload] });
    fs.rmSync(blob(`jobs/${id}/inputs-pixels/0`));
    await stack.addWorker();
    const second = await waitForJob(stack.url, id);
    expect(second.status).toBe('succeeded');
    expect(second.result.predictions[0].labels).toEqual(first.result.predictions[0].labels);
  } finally {
    await queue.close();
  }
});
