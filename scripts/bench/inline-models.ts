import { catalogEntry, type InlineModel } from './inline-model';
import { loadInlineClassifier } from './inline-classifier';
import { loadInlineDiffusion } from './inline-diffusion';
import { loadInlineGenerator } from './inline-generator';

/** Loads `name` from MODELS_PATH as an inline model of its kind, its sessions with `threads` intra-op threads (0: onnxruntime's default). */
export async function loadInlineModel(name: string, threads = 0): Promise<InlineModel> {
  const { manifest, dir, pipeline } = catalogEntry(name);
  switch (manifest.kind) {
    case 'classifier':
      return loadInlineClassifier(manifest, dir, threads);
    case 'generator':
      return loadInlineGenerator(manifest, dir, undefined, threads);
    case 'diffusion':
      if (!pipeline) throw new Error(`${name}: pipeline folder not resolved`);
      return loadInlineDiffusion(manifest, pipeline, threads);
    default:
      throw new Error(`${name}: the benchmark does not drive ${manifest.kind} models`);
  }
}
