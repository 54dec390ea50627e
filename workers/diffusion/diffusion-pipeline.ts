import fs from 'node:fs';
import path from 'node:path';
import type { PipelineInfo } from '../../src/models/kinds/pipeline-folder';
import type { DiffusionManifest } from '../../src/models/model-manifest';
import type { TensorInfo } from '../runtime/inference-messages';
import type { ModelRunner, RunnerFactory } from '../runtime/model-runner';
import { loadClipTokenizer, type ClipTokenizer } from './clip-tokenizer';
import { parseSchedulerConfig, type SchedulerConfig } from './schedulers/scheduler-config';

/** Which tensor is which in a UNet, found by name (optimum's) or, failing that, by rank. */
export interface UnetIo {
  sample: TensorInfo;
  timestep: TensorInfo;
  hidden: TensorInfo;
  output: string;
}

/** A loaded text-to-image pipeline: tokenizer, scheduler settings and one runner per graph. */
export interface DiffusionPipeline {
  info: PipelineInfo;
  tokenizer: ClipTokenizer;
  schedulerConfig: SchedulerConfig;
  /** Latents are divided by this before decoding and multiplied after encoding. */
  scalingFactor: number;
  textEncoder: { runner: ModelRunner; input: TensorInfo; output: string };
  unet: { runner: ModelRunner; io: UnetIo };
  vaeDecoder: { runner: ModelRunner; input: string; output: string };
  vaeEncoder?: { runner: ModelRunner; input: string; output: string };
  runners(): ModelRunner[];
}

const readJson = (file: string): Record<string, unknown> | undefined =>
  fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : undefined;

function pick(infos: TensorInfo[], name: string, rank: number, what: string): TensorInfo {
  const found = infos.find((i) => i.name === name) ?? infos.find((i) => i.dims.length === rank);
  if (!found) throw new Error(`${what}: no input "${name}" (has ${infos.map((i) => i.name).join(', ')})`);
  return found;
}

/** Finds the UNet's tensors and refuses extra conditioning inputs (SDXL, guidance embeddings) it cannot feed. */
export function describeUnet(runner: ModelRunner): UnetIo {
  const sample = pick(runner.inputs, 'sample', 4, 'unet');
  const timestep =
    runner.inputs.find((i) => i.name === 'timestep') ?? runner.inputs.find((i) => i !== sample && i.dims.length <= 1);
  const hidden = pick(runner.inputs, 'encoder_hidden_states', 3, 'unet');
  if (!timestep) throw new Error('unet: no "timestep" input');
  const extra = runner.inputs.filter((i) => ![sample, timestep, hidden].includes(i));
  if (extra.length)
    throw new Error(
      `unet: inputs ${extra.map((e) => e.name).join(', ')} are not supported (SD 1.x/2.x/Turbo/LCM-style UNets are)`,
    );
  return {
    sample,
    timestep,
    hidden,
    output: runner.outputs.find((o) => o.name === 'out_sample')?.name ?? runner.outputs[0].name,
  };
}

/** Loads an optimum ONNX export: one inference thread per graph, settings from its config files. */
export async function loadDiffusionPipeline(
  manifest: DiffusionManifest,
  info: PipelineInfo,
  startRunner: RunnerFactory,
): Promise<DiffusionPipeline> {
  const dir = info.dir;
  const runner = (part: string, outputs?: string[]) =>
    startRunner({
      name: `${manifest.name}/${part}`,
      modelPath: path.join(dir, part, 'model.onnx'),
      outputs,
      maxBatchSize: manifest.batching.max_batch_size,
      maxQueueDelayMs: manifest.batching.max_queue_delay_ms,
    });
  const started: ModelRunner[] = [];
  const track = async (r: Promise<ModelRunner>) => {
    const value = await r;
    started.push(value);
    return value;
  };
  try {
    const tokenizer = await loadClipTokenizer(path.join(dir, 'tokenizer'));
    const schedulerConfig = parseSchedulerConfig(readJson(path.join(dir, 'scheduler', 'scheduler_config.json')));
    const vaeConfig = readJson(path.join(dir, 'vae_decoder', 'config.json')) ?? {};
    const scalingFactor = typeof vaeConfig.scaling_factor === 'number' ? vaeConfig.scaling_factor : 0.18215;

    const text = await track(runner('text_encoder'));
    const textOutput = text.outputs.find((o) => o.name === 'last_hidden_state')?.name ?? text.outputs[0].name;
    const textEncoder = { runner: text, input: pick(text.inputs, 'input_ids', 2, 'text_encoder'), output: textOutput };
    const unetRunner = await track(runner('unet'));
    const unet = { runner: unetRunner, io: describeUnet(unetRunner) };
    const decoder = await track(runner('vae_decoder'));
    const vaeDecoder = { runner: decoder, input: decoder.inputs[0].name, output: decoder.outputs[0].name };
    let vaeEncoder: DiffusionPipeline['vaeEncoder'];
    if (info.hasVaeEncoder) {
      const encoder = await track(runner('vae_encoder'));
      vaeEncoder = { runner: encoder, input: encoder.inputs[0].name, output: encoder.outputs[0].name };
    }
    return {
      info,
      tokenizer,
      schedulerConfig,
      scalingFactor,
      textEncoder,
      unet,
      vaeDecoder,
      vaeEncoder,
      runners: () => [...started],
    };
  } catch (err) {
    await Promise.all(started.map((r) => r.close()));
    throw new Error(`diffusion model ${manifest.name}: ${(err as Error).message}`, { cause: err });
  }
}
