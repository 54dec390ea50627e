import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../../src/imaging/image-codec';
import { KIT_REAL_MODELS } from './kit-layout';

interface FixtureManifest {
  name: string;
  description?: string;
  files: { model: string };
  labels?: unknown;
}

/** Copies a file the manifest names into the model's kit folder; returns the manifest's new (local) name for it. */
function bring(fixtureDir: string, ref: string, modelDir: string): string {
  const from = path.resolve(fixtureDir, ref);
  if (!fs.existsSync(from)) throw new Error(`${from} is missing: the GPU kit copies the real models from the ../shared folder beside the repo`);
  fs.copyFileSync(from, path.join(modelDir, path.basename(from)));
  return path.basename(from);
}

/**
 * The real models, copied from ../shared at build time (never committed): each gets the test
 * fixture's manifest with its file references pointing at the copies, plus the model's about.json.
 */
export function copyRealModels(repo: string, modelsDir: string): string[] {
  for (const { name, fixture } of KIT_REAL_MODELS) {
    const fixtureDir = path.join(repo, fixture);
    const manifest = JSON.parse(fs.readFileSync(path.join(fixtureDir, 'model.json'), 'utf8')) as FixtureManifest;
    const modelDir = path.join(modelsDir, name);
    fs.mkdirSync(modelDir, { recursive: true });
    const source = path.dirname(path.resolve(fixtureDir, manifest.files.model));
    manifest.files.model = bring(fixtureDir, manifest.files.model, modelDir);
    const labels = manifest.labels as { file?: string } | undefined;
    if (labels && typeof labels === 'object' && 'file' in labels && labels.file) labels.file = bring(fixtureDir, labels.file, modelDir);
    manifest.description = manifest.description?.replace('Files referenced in place from ../shared.', 'Files copied into the GPU kit.');
    if (fs.existsSync(path.join(source, 'about.json'))) fs.copyFileSync(path.join(source, 'about.json'), path.join(modelDir, 'about.json'));
    fs.writeFileSync(path.join(modelDir, 'model.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  }
  return KIT_REAL_MODELS.map((m) => m.name);
}

/**
 * A PNG at zlib's highest level (about a quarter smaller than the shared photos): still a PNG, so
 * darkroom decodes it through the same loader, and kept only when its pixels, as darkroom decodes
 * them, equal the original's; otherwise the original is kept.
 */
async function smallerPng(original: Buffer): Promise<Buffer> {
  const again = await sharp(original).keepIccProfile().png({ compressionLevel: 9, adaptiveFiltering: true }).toBuffer();
  if (again.length >= original.length) return original;
  const [a, b] = await Promise.all([decodeImage(original, { maxPixels: 1e9 }), decodeImage(again, { maxPixels: 1e9 })]);
  return a.width === b.width && a.height === b.height && a.data.equals(b.data) ? again : original;
}

/**
 * Photos larger than this (after the lossless recompression) stay out of the kit: the few biggest
 * cost megabytes of its 60 MiB and add nothing the other photos do not already test.
 */
export const MAX_PHOTO_BYTES = 400 * 1024;

/** The shared photos the classification jobs use (not the deliberately broken ones in bad/), with expected.json. */
export async function copyPhotos(photosSrc: string, photosDir: string): Promise<{ photos: number; recompressed: number; leftOut: string[] }> {
  if (!fs.existsSync(path.join(photosSrc, 'expected.json'))) throw new Error(`${photosSrc}/expected.json is missing: the GPU kit copies the photos from the ../shared folder beside the repo`);
  fs.mkdirSync(photosDir, { recursive: true });
  fs.copyFileSync(path.join(photosSrc, 'expected.json'), path.join(photosDir, 'expected.json'));
  const photos = fs.readdirSync(photosSrc).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  let recompressed = 0;
  const leftOut: string[] = [];
  for (const f of photos) {
    const original = fs.readFileSync(path.join(photosSrc, f));
    const data = /\.png$/i.test(f) ? await smallerPng(original) : original;
    if (data.length > MAX_PHOTO_BYTES) {
      leftOut.push(f);
      continue;
    }
    if (data !== original) recompressed++;
    fs.writeFileSync(path.join(photosDir, f), data);
  }
  return { photos: photos.length - leftOut.length, recompressed, leftOut };
}
