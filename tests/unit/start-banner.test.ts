import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModelCatalog } from '../../src/models/model-catalog';
import { startBanner } from '../../src/start-banner';
import { DEMO_MODELS, FIXTURE_MODELS } from '../helpers/paths';

const URL = 'http://127.0.0.1:3000';

test('the banner lists each model with its defaults, and says what the demos are only when there are some', () => {
  const real = loadModelCatalog([path.join(FIXTURE_MODELS, 'squeezenet1.1')]);
  expect(startBanner(URL, real).split('\n').slice(4)).toEqual([
    '  models (defaults: DEFAULT_GENERATION_MODEL, DEFAULT_CLASSIFICATION_MODEL, DEFAULT_IMAGE_TO_IMAGE_MODEL):',
    '    squeezenet1.1  classifier        default for classification',
    '',
  ]);
  const mixed = startBanner(URL, loadModelCatalog([DEMO_MODELS, path.join(FIXTURE_MODELS, 'squeezenet1.1')]));
  expect(mixed).toContain('    demo-colors     classifier  demo\n');
  expect(mixed).toContain('    squeezenet1.1   classifier        default for classification\n');
  expect(mixed).toContain("  demo: darkroom's own tiny models");
});

test('with no models the banner says how to get one', () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-no-models-'));
  try {
    expect(startBanner(URL, loadModelCatalog([empty]))).toContain(
      '  models (defaults: DEFAULT_GENERATION_MODEL, DEFAULT_CLASSIFICATION_MODEL, DEFAULT_IMAGE_TO_IMAGE_MODEL):\n    none: set MODELS_PATH, or `darkroom models pull`\n',
    );
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});
