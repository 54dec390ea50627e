import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_FILE } from '../src/models/model-manifest';
import { CLASSIFIER_VERSION, buildClassifierModel, classifierManifest } from './demo-models/demo-classifier';
import { DIFFUSION_FOLDER, writeDiffusionFolder } from './demo-models/demo-diffusion';
import { GENERATOR_VERSION, buildGeneratorModel, generatorManifest } from './demo-models/demo-generator';
import { writeAtomically, writeModelFolder, type DemoModel } from './demo-models/model-folder-writer';

/**
 * Writes the project's own demo models (`models/demo/<name>/model.onnx` + `model.json`) from
 * TypeScript: no binaries in git, nothing downloaded. Idempotent: a folder whose stamp matches
 * the builder version is left alone.
 *
 *   node dist/scripts/build-demo-models.js [outDir]
 */

const DEMO_MODELS: DemoModel[] = [
  { folder: 'demo-cppn', version: GENERATOR_VERSION, manifest: generatorManifest, build: buildGeneratorModel },
  { folder: 'demo-colors', version: CLASSIFIER_VERSION, manifest: classifierManifest, build: buildClassifierModel },
];

/** The repository root: the nearest ancestor holding darkroom's package.json (works from scripts/ and dist/scripts/). */
export function repoRoot(start: string = __dirname): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'darkroom') {
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`no darkroom package.json above ${start}`);
  }
}

/**
 * Marks a folder's manifest `"demo": true`, the field darkroom tells its own demos by (`/v1/models`,
 * the defaults, the start banner). Done here for every demo, also for folders built before the field
 * existed; returns whether the manifest changed.
 */
async function markAsDemo(folder: string): Promise<boolean> {
  const file = path.join(folder, MANIFEST_FILE);
  const manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  if (manifest.demo === true) return false;
  await writeAtomically(file, `${JSON.stringify({ ...manifest, demo: true }, null, 2)}\n`);
  return true;
}

/** Builds every demo model under `outDir`; returns the folders written (empty when all were current). */
export async function buildDemoModels(outDir: string): Promise<string[]> {
  const written: string[] = [];
  for (const model of DEMO_MODELS) {
    const folder = await writeModelFolder(outDir, model);
    if (folder !== null) written.push(folder);
  }
  const diffusion = await writeDiffusionFolder(outDir);
  if (diffusion !== null) written.push(diffusion);
  for (const folder of [...DEMO_MODELS.map((m) => m.folder), DIFFUSION_FOLDER].map((f) => path.join(outDir, f))) {
    if ((await markAsDemo(folder)) && !written.includes(folder)) written.push(folder);
  }
  return written;
}

if (require.main === module) {
  const outDir = path.resolve(process.argv[2] ?? path.join(repoRoot(), 'models', 'demo'));
  const started = Date.now();
  buildDemoModels(outDir).then(
    (written) => {
      const what = written.length > 0 ? `wrote ${written.map((f) => path.basename(f)).join(', ')}` : 'all up to date';
      console.log(`demo models in ${outDir}: ${what} (${Date.now() - started} ms)`);
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
