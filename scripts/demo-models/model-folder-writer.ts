import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  MANIFEST_FILE,
  modelManifestSchema,
  type ClassifierManifest,
  type GeneratorManifest,
} from '../../src/models/model-manifest';

/** Written last in a model folder; holds the builder version that produced the folder. */
export const VERSION_STAMP_FILE = '.build-version';

/** One demo model: how to build its graph and what its manifest says. */
export interface DemoModel {
  /** Folder name under the output directory; also the manifest's `name`. */
  folder: string;
  /** Changes whenever the bytes `build` returns would change. */
  version: string;
  manifest: ClassifierManifest | GeneratorManifest;
  build: () => Uint8Array;
}

// Write-then-rename, so a reader (or a crash) never sees half a file.
export async function writeAtomically(file: string, data: Uint8Array | string): Promise<void> {
  const partial = `${file}.${process.pid}.partial`;
  await writeFile(partial, data);
  await rename(partial, file);
}

async function isUpToDate(folder: string, model: DemoModel): Promise<boolean> {
  const stamp = path.join(folder, VERSION_STAMP_FILE);
  if (!existsSync(stamp)) return false;
  const files = [MANIFEST_FILE, model.manifest.files.model].map((file) => path.join(folder, file));
  if (!files.every((file) => existsSync(file))) return false;
  return (await readFile(stamp, 'utf8')).trim() === model.version;
}

/** Writes model.onnx, model.json and the stamp under `outDir`; returns the folder, or null when already current. */
export async function writeModelFolder(outDir: string, model: DemoModel): Promise<string | null> {
  const folder = path.join(outDir, model.folder);
  if (await isUpToDate(folder, model)) return null;

  const checked = modelManifestSchema.safeParse(model.manifest);
  if (!checked.success) {
    throw new Error(`manifest of ${model.folder} does not validate: ${JSON.stringify(checked.error.issues)}`);
  }
  if (model.manifest.name !== model.folder)
    throw new Error(`manifest name ${model.manifest.name} != folder ${model.folder}`);

  await mkdir(folder, { recursive: true });
  // The stamp goes last: a folder interrupted half-way has none and is rebuilt next time.
  await writeAtomically(path.join(folder, model.manifest.files.model), model.build());
  await writeAtomically(path.join(folder, MANIFEST_FILE), `${JSON.stringify(model.manifest, null, 2)}\n`);
  await writeAtomically(path.join(folder, VERSION_STAMP_FILE), `${model.version}\n`);
  return folder;
}
