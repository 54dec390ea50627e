import fs from 'node:fs';
import path from 'node:path';
import { postJson, requestJson } from './api-client';
import { FIXTURE_MODELS, requireShared, SHARED } from './paths';

/** The folder of one fixture model (its manifest references the files in ../shared in place). */
export const fixtureModel = (name: string) => {
  requireShared(path.join('models', name));
  return path.join(FIXTURE_MODELS, name);
};

/** Writes a model folder into `root` whose manifest names the ../shared files by absolute path (so it can live anywhere). */
export function writeModelFolder(root: string, name: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(fixtureModel(name), 'model.json'), 'utf8'));
  const absolute = (rel: string) => path.resolve(FIXTURE_MODELS, name, rel);
  manifest.files.model = absolute(manifest.files.model);
  if (manifest.labels?.file) manifest.labels.file = absolute(manifest.labels.file);
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  // Written under another name first: a scan must never see half a manifest.
  fs.writeFileSync(path.join(dir, 'model.tmp'), JSON.stringify(manifest));
  fs.renameSync(path.join(dir, 'model.tmp'), path.join(dir, 'model.json'));
  return dir;
}

/** Polls GET /v1/models until `test` holds for the list; returns it. */
export async function waitForModels(url: string, test: (models: any[]) => boolean, timeoutMs = 20_000): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await requestJson(`${url}/v1/models`);
    if (body?.models && test(body.models)) return body.models;
    if (Date.now() > deadline) throw new Error(`models never matched; last: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const IMAGES = path.join(SHARED, 'images');

export const classify = (url: string, model = 'mobilenetv2-12-int8') =>
  postJson(`${url}/v1/classifications`, {
    model,
    images: [fs.readFileSync(path.join(IMAGES, 'goldfish.jpg')).toString('base64')],
  });

export const generate = (url: string, model = 'omori-sprite-gan') => postJson(`${url}/v1/generations`, { model, n: 2 });
