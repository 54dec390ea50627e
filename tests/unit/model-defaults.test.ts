import path from 'node:path';
import { ConfigError } from '../../src/config';
import { JOB_TYPES } from '../../src/jobs/job-contract';
import { loadModelCatalog, type ModelCatalog } from '../../src/models/model-catalog';
import { DEMO_MODELS, FIXTURE_MODELS } from '../helpers/paths';

/** Which model each job falls back to, over real model folders: the demos as built, real models from ../shared. */

const defaults = (catalog: ModelCatalog) =>
  Object.fromEntries(JOB_TYPES.map((job) => [job, catalog.defaultFor(job)?.manifest.name]));

/** Real models by path: the fixture manifests point at ../shared's graphs. */
const REAL = ['omori-sprite-gan', 'mobilenetv2-12-int8'].map((name) => path.join(FIXTURE_MODELS, name));
const STYLE = path.resolve(FIXTURE_MODELS, '..', 'models-image', 'fast-neural-style-mosaic');

test('with only the demos, each job defaults to its demo: diffusion before the CPPN', () => {
  const catalog = loadModelCatalog([DEMO_MODELS]);
  expect(defaults(catalog)).toEqual({
    generation: 'demo-diffusion',
    classification: 'demo-colors',
    image_to_image: 'demo-diffusion',
  });
  expect(catalog.entries.every((e) => e.manifest.demo === true)).toBe(true);
  expect(catalog.defaultJobsOf(catalog.get('demo-diffusion')!)).toEqual(['generation', 'image_to_image']);
  expect(catalog.defaultJobsOf(catalog.get('demo-cppn')!)).toEqual([]);
});

test('with no setting a real model is preferred over the demo of its job, wherever it is in MODELS_PATH', () => {
  const catalog = loadModelCatalog([DEMO_MODELS, ...REAL, STYLE]);
  expect(defaults(catalog)).toEqual({
    generation: 'omori-sprite-gan',
    classification: 'mobilenetv2-12-int8',
    image_to_image: 'fast-neural-style-mosaic',
  });
  expect(catalog.get('omori-sprite-gan')!.manifest.demo).toBeUndefined();
});

test('DEFAULT_* settings win over the preference, a demo included', () => {
  const catalog = loadModelCatalog([DEMO_MODELS, ...REAL], [], {
    generation: 'demo-cppn',
    classification: 'demo-colors',
    image_to_image: 'demo-diffusion',
  });
  expect(defaults(catalog)).toEqual({
    generation: 'demo-cppn',
    classification: 'demo-colors',
    image_to_image: 'demo-diffusion',
  });
});

test('a setting naming a model that is not loaded, or that cannot run the job, is a config error listing the choices', () => {
  const load = () =>
    loadModelCatalog([DEMO_MODELS, ...REAL], [], {
      generation: 'stable-diffusion-v1-5',
      classification: 'demo-cppn',
      image_to_image: 'omori-sprite-gan',
    });
  expect(load).toThrow(ConfigError);
  expect(() => load()).toThrow(
    [
      'Invalid configuration:',
      '  - DEFAULT_GENERATION_MODEL: no model "stable-diffusion-v1-5" is installed (MODELS_PATH); generation models available: demo-cppn, demo-diffusion, omori-sprite-gan',
      '  - DEFAULT_CLASSIFICATION_MODEL: model "demo-cppn" (generator) cannot run classification jobs; classification models available: demo-colors, mobilenetv2-12-int8',
      '  - DEFAULT_IMAGE_TO_IMAGE_MODEL: model "omori-sprite-gan" (generator) cannot run image-to-image jobs; image-to-image models available: demo-diffusion',
    ].join('\n'),
  );
});

test('a job no loaded model can run has no default, and a setting for it says so', () => {
  const colorsOnly = [path.join(DEMO_MODELS, 'demo-colors')];
  expect(defaults(loadModelCatalog(colorsOnly))).toEqual({
    generation: undefined,
    classification: 'demo-colors',
    image_to_image: undefined,
  });
  expect(() => loadModelCatalog(colorsOnly, [], { generation: 'demo-colors' })).toThrow(
    'generation models available: none',
  );
});
