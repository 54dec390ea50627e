import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../src/config';
import type { Logger } from '../src/logger';
import type { CatalogEntry, ModelCatalog } from '../src/models/model-catalog';
import type {
  ClassifierManifest,
  DiffusionManifest,
  GeneratorManifest,
  ImageToImageManifest,
} from '../src/models/model-manifest';
import { loadDiffusionPipeline, type DiffusionPipeline } from './diffusion/diffusion-pipeline';
import { defaultIntraOpThreads } from './runtime/intra-op-threads';
import { startModelRunner, type ModelRunner, type RunnerFactory } from './runtime/model-runner';

/** A loaded model: its manifest and what runs it. */
export type LoadedModel =
  | { kind: 'classifier'; manifest: ClassifierManifest; runner: ModelRunner; labels: string[] }
  | { kind: 'generator'; manifest: GeneratorManifest; runner: ModelRunner }
  | { kind: 'image_to_image'; manifest: ImageToImageManifest; runner: ModelRunner }
  | { kind: 'diffusion'; manifest: DiffusionManifest; pipeline: DiffusionPipeline };

export interface ModelRegistry {
  get(name: string): LoadedModel | undefined;
  all(): LoadedModel[];
  /** Every runner (a diffusion pipeline has several), for health and metrics. */
  runners(): ModelRunner[];
  close(): Promise<void>;
}

/** Reads a classifier's labels from the manifest (inline or a lines/synset/json file). */
export function loadLabels(manifest: ClassifierManifest, dir: string): string[] {
  if (Array.isArray(manifest.labels)) return manifest.labels;
  const text = fs.readFileSync(path.resolve(dir, manifest.labels.file), 'utf8');
  switch (manifest.labels.format) {
    case 'json':
      return (JSON.parse(text) as (string | { name: string })[]).map((l) => (typeof l === 'string' ? l : l.name));
    case 'synset':
      // "n01440764 tench, Tinca tinca" -> "tench"
      return text
        .split('\n')
        .filter(Boolean)
        .map((line) =>
          line
            .replace(/^\S+\s+/, '')
            .split(',')[0]
            .trim(),
        );
    case 'lines':
      return text
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
  }
}

/** Fails loading when the graph lacks an input the manifest names. */
async function checkInputs(runner: ModelRunner, declared: string[]): Promise<ModelRunner> {
  const missing = declared.filter((n) => !runner.inputNames.includes(n));
  if (missing.length) {
    await runner.close();
    throw new Error(
      `model ${runner.name}: the graph has no input(s) ${missing.join(', ')}; it has ${runner.inputNames.join(', ')}`,
    );
  }
  return runner;
}

/** Loads one model: its runner(s), checked against the manifest. */
export async function loadModel(entry: CatalogEntry, startRunner: RunnerFactory): Promise<LoadedModel> {
  const { manifest, dir } = entry;
  const single = (outputs: string[]) =>
    startRunner({
      name: manifest.name,
      modelPath: path.resolve(dir, 'files' in manifest ? manifest.files.model : ''),
      outputs,
      maxBatchSize: manifest.batching.max_batch_size,
      maxQueueDelayMs: manifest.batching.max_queue_delay_ms,
    });
  switch (manifest.kind) {
    case 'classifier':
      return {
        kind: 'classifier',
        manifest,
        runner: await checkInputs(await single([manifest.outputs.scores]), [manifest.inputs.image]),
        labels: loadLabels(manifest, dir),
      };
    case 'generator': {
      const inputs = [manifest.inputs.latent, ...(manifest.prompt ? [manifest.prompt.input] : [])];
      return { kind: 'generator', manifest, runner: await checkInputs(await single([manifest.outputs.image]), inputs) };
    }
    case 'image_to_image':
      return {
        kind: 'image_to_image',
        manifest,
        runner: await checkInputs(await single([manifest.outputs.image]), [manifest.inputs.image]),
      };
    case 'diffusion':
      if (!entry.pipeline) throw new Error(`model ${manifest.name}: pipeline folder not resolved`);
      return {
        kind: 'diffusion',
        manifest,
        pipeline: await loadDiffusionPipeline(manifest, entry.pipeline, startRunner),
      };
  }
}

/** Starts runners with this process's settings; `onBatch` hears of every inference run (runner name, items, ms). */
export function runnerFactory(
  config: Config,
  logger: Logger,
  onBatch?: (model: string, items: number, ms: number) => void,
): RunnerFactory {
  return (opts) =>
    startModelRunner({
      ...opts,
      onBatch: onBatch && ((items, ms) => onBatch(opts.name, items, ms)),
      maxBatchSize: Math.min(opts.maxBatchSize, config.MAX_BATCH_SIZE ?? Infinity),
      providers: config.ORT_EXECUTION_PROVIDERS,
      intraOpThreads: config.ORT_INTRA_OP_THREADS || defaultIntraOpThreads(),
      logger,
    });
}

/**
 * Loads every model of the catalog, one inference thread per graph; sessions live as long as the
 * worker. `onBatch` hears of every inference run (runner name, items, ms), for metrics.
 */
export async function loadModelRegistry(
  catalog: ModelCatalog,
  config: Config,
  logger: Logger,
  onBatch?: (model: string, items: number, ms: number) => void,
): Promise<ModelRegistry> {
  const startRunner = runnerFactory(config, logger, onBatch);
  const models = new Map<string, LoadedModel>();
  for (const entry of catalog.entries) {
    models.set(entry.manifest.name, await loadModel(entry, startRunner));
  }
  const runners = () =>
    [...models.values()].flatMap((m) => (m.kind === 'diffusion' ? m.pipeline.runners() : [m.runner]));
  return {
    get: (name) => models.get(name),
    all: () => [...models.values()],
    runners,
    async close() {
      await Promise.all(runners().map((r) => r.close()));
    },
  };
}
