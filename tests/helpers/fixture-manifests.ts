import fs from 'node:fs';
import path from 'node:path';
import { classifierManifestSchema } from '../../src/models/kinds/classifier';
import { imageToImageManifestSchema } from '../../src/models/kinds/image-to-image';
import { FIXTURE_MODELS, REPO } from './paths';

/** A classifier fixture (tests/fixtures/models/<name>): its manifest as the catalog parses it, and its graph's path. */
export function fixtureClassifier(name: string) {
  const dir = path.join(FIXTURE_MODELS, name);
  const manifest = classifierManifestSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')));
  return { manifest, modelPath: path.resolve(dir, manifest.files.model) };
}

/** An image-to-image fixture (tests/fixtures/models-image/<name>), as `fixtureClassifier`. */
export function fixtureImageToImage(name: string) {
  const dir = path.join(REPO, 'tests', 'fixtures', 'models-image', name);
  const manifest = imageToImageManifestSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')));
  return { manifest, modelPath: path.resolve(dir, manifest.files.model) };
}
