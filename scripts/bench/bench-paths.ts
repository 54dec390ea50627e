import fs from 'node:fs';
import path from 'node:path';

/** The repository root: the nearest ancestor of this file holding darkroom's package.json. */
function findRepo(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (
      fs.existsSync(manifest) &&
      (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'darkroom'
    )
      return dir;
    if (path.dirname(dir) === dir) throw new Error(`no darkroom package.json above ${start}`);
  }
}

export const REPO = findRepo(__dirname);
export const DIST = path.join(REPO, 'dist');
export const SHARED = path.resolve(REPO, '..', 'shared');
export const DEMO_MODELS = path.join(REPO, 'models', 'demo');
export const FIXTURE_MODELS = path.join(REPO, 'tests', 'fixtures', 'models');
/** What the benchmarked processes serve: the demo models and the real ones in ../shared. */
export const MODELS_PATH = [DEMO_MODELS, FIXTURE_MODELS];
export const PHOTOS = path.join(SHARED, 'images');

/** Everything the benchmark needs on disk; throws one message listing what is missing and how to get it. */
export function requireBenchInputs(): void {
  const needs: [string, string][] = [
    [
      path.join(SHARED, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.onnx'),
      'the ../shared folder beside the repo (real models and photos)',
    ],
    [
      path.join(SHARED, 'models', 'omori-sprite-gan', 'omori-sprite-gan-dynbatch.onnx'),
      'the ../shared folder beside the repo (real models and photos)',
    ],
    [PHOTOS, 'the photos in ../shared/images'],
    [path.join(DEMO_MODELS, 'demo-diffusion', 'unet', 'model.onnx'), 'the demo models: run `npm run models:build`'],
    [path.join(DIST, 'src', 'api-main.js'), 'the compiled API: run `npm run build`'],
    [path.join(DIST, 'workers', 'main.js'), 'the compiled worker: run `npm run build`'],
  ];
  const missing = needs.filter(([p]) => !fs.existsSync(p)).map(([p, what]) => `  - ${p}: ${what}`);
  if (missing.length) throw new Error(`the benchmark cannot run; missing:\n${[...new Set(missing)].join('\n')}`);
}
