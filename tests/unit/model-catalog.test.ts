import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModelCatalog, ModelCatalogError } from '../../src/models/model-catalog';
import { DEMO_MODELS, FIXTURE_MODELS } from '../helpers/paths';

test('the fixture manifests for the shared models all validate and resolve their files', () => {
  const catalog = loadModelCatalog([FIXTURE_MODELS]);
  expect(catalog.entries.map((e) => e.manifest.name)).toEqual(
    expect.arrayContaining(['mobilenetv2-12-int8', 'squeezenet1.1', 'omori-sprite-gan']),
  );
  expect(catalog.get('squeezenet1.1')!.manifest).toMatchObject({
    kind: 'classifier',
    preprocess: { channel_order: 'BGR', scale: 1 },
  });
});

test('bad manifests are all reported at once', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'catalog-'));
  const write = (name: string, json: unknown) => {
    fs.mkdirSync(path.join(root, name));
    fs.writeFileSync(path.join(root, name, 'model.json'), typeof json === 'string' ? json : JSON.stringify(json));
  };
  write('a', '{not json');
  write('b', { name: 'b', kind: 'teleporter' });
  write('c', {
    name: 'c',
    kind: 'generator',
    files: { model: 'missing.onnx' },
    inputs: { latent: 'z' },
    outputs: { image: 'x' },
    latent: { shape: [4] },
    output: { width: 8, height: 8 },
  });
  try {
    loadModelCatalog([root, path.join(root, 'nowhere')]);
    throw new Error('expected a ModelCatalogError');
  } catch (err) {
    expect(err).toBeInstanceOf(ModelCatalogError);
    const text = (err as ModelCatalogError).problems.join('\n');
    expect(text).toContain('a/model.json');
    expect(text).toContain('b/model.json');
    expect(text).toContain('missing.onnx');
    expect(text).toContain('nowhere: models folder does not exist');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a missing MODELS_DIR (nothing pulled yet) is no problem; another missing folder is', () => {
  const absent = path.join(os.tmpdir(), `darkroom-no-such-models-${process.pid}`);
  expect(loadModelCatalog([DEMO_MODELS, absent], [absent]).get('demo-diffusion')).toBeDefined();
  expect(() => loadModelCatalog([DEMO_MODELS, absent])).toThrow('models folder does not exist');
});
