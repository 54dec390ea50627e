import path from 'node:path';
import type { ModelManifest } from '../../src/models/model-manifest';
import type { KindEntry } from '../../src/models/kinds/model-kind';
import type { ModelRunner, RunnerFactory } from '../runtime/model-runner';
import type { PixelInputSpec } from '../runtime/pixel-input-graph';

/** A model that is one ONNX graph (`files.model`): every kind except a diffusion pipeline. */
type GraphManifest = Extract<ModelManifest, { files: { model: string } }>;

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

/**
 * Starts the inference thread of a single-graph model, reading `outputs`; its graph must take
 * `inputs`. With `pixelInput`, the graph takes that image input as 8-bit pixels where it can.
 */
export async function startGraphRunner(
  { manifest, dir }: KindEntry<GraphManifest>,
  startRunner: RunnerFactory,
  outputs: string[],
  inputs: string[],
  pixelInput?: PixelInputSpec,
): Promise<ModelRunner> {
  const runner = await startRunner({
    name: manifest.name,
    modelPath: path.resolve(dir, manifest.files.model),
    outputs,
    maxBatchSize: manifest.batching.max_batch_size,
    maxQueueDelayMs: manifest.batching.max_queue_delay_ms,
    pixelInput,
  });
  return checkInputs(runner, inputs);
}
