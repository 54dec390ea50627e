import type { JobType } from '../../src/jobs/job-contract';
import type { KindEntry } from '../../src/models/kinds/model-kind';
import type { ManifestOf, ModelKind, ModelManifest } from '../../src/models/model-manifest';
import type { ModelRunner, RunnerFactory } from '../runtime/model-runner';
import { classifierPipeline, type ClassifierModel } from './classifier';
import { diffusionPipeline, type DiffusionModel } from './diffusion';
import { generatorPipeline, type GeneratorModel } from './generator';
import { imageToImagePipeline, type ImageGraphModel } from './image-to-image';
import type { JobRun, KindPipeline } from './kind-pipeline';

/** A loaded model: its manifest and what runs it, by kind. */
export type LoadedModel = ClassifierModel | GeneratorModel | ImageGraphModel | DiffusionModel;
type LoadedOf<K extends ModelKind> = Extract<LoadedModel, { kind: K }>;

/**
 * How the worker loads and runs each model kind: a kind without an entry here does not compile.
 * This table is the one place the worker tells kinds apart; everything else asks it.
 */
const PIPELINES: { [K in ModelKind]: KindPipeline<ManifestOf<K>, LoadedOf<K>> } = {
  classifier: classifierPipeline,
  generator: generatorPipeline,
  image_to_image: imageToImagePipeline,
  diffusion: diffusionPipeline,
};

// TypeScript cannot correlate a table value with the kind that picked it; the table's type does.
const pipelineOf = <L extends LoadedModel>(kind: L['kind']) =>
  PIPELINES[kind] as unknown as KindPipeline<L['manifest'], L>;

/** Loads the model of a catalog entry with its kind's pipeline. */
export function loadModel(entry: KindEntry<ModelManifest>, startRunner: RunnerFactory): Promise<LoadedModel> {
  return pipelineOf<LoadedModel>(entry.manifest.kind).load(entry, startRunner);
}

/** Every runner of a loaded model. */
export function runnersOf(model: LoadedModel): ModelRunner[] {
  return pipelineOf<LoadedModel>(model.kind).runners(model);
}

/** How `model` runs a job of type `type`, or undefined when its kind does not serve that type. */
export function jobRunOf<T extends JobType>(model: LoadedModel, type: T): JobRun<LoadedModel, T> | undefined {
  return pipelineOf<LoadedModel>(model.kind).jobs[type];
}

/** The kinds whose models run jobs of type `type`. */
export function kindsRunning(type: JobType): ModelKind[] {
  return (Object.keys(PIPELINES) as ModelKind[]).filter((k) => PIPELINES[k].jobs[type]);
}
