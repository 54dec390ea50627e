import fs from 'node:fs';
import path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { encodeImage } from '../../src/imaging/image-codec';
import type { PipelineInfo } from '../../src/models/kinds/pipeline-folder';
import type { DiffusionManifest } from '../../src/models/model-manifest';
import { loadClipTokenizer } from '../../workers/diffusion/clip-tokenizer';
import { createNormalRng, normalArray } from '../../workers/diffusion/normal-rng';
import { createScheduler } from '../../workers/diffusion/schedulers/create-scheduler';
import { parseSchedulerConfig, type SchedulerName } from '../../workers/diffusion/schedulers/scheduler-config';
import { tensorToImage } from '../../workers/imaging/image-tensor';
import type { TensorData } from '../../workers/runtime/tensor-data';
import { openSession, toOrt, type InlineModel } from './inline-model';

/** The text-to-image settings every diffusion request of the benchmark uses. */
export const DIFFUSION_SETTINGS = {
  width: 256,
  height: 256,
  steps: 4,
  scheduler: 'euler' as SchedulerName,
  guidance_scale: 7.5,
  negative_prompt: '',
};

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;

/** Values in the element type a graph input declares. */
function typed(session: ort.InferenceSession, input: string, dims: number[], values: ArrayLike<number>): ort.Tensor {
  const meta = session.inputMetadata.find((m) => m.name === input);
  const type = meta?.isTensor ? meta.type : 'float32';
  const data: TensorData =
    type === 'int64'
      ? { type, dims, data: BigInt64Array.from(Array.from(values, (v) => BigInt(Math.round(v)))) }
      : type === 'int32'
        ? { type, dims, data: Int32Array.from(values) }
        : type === 'float32'
          ? { type, dims, data: Float32Array.from(values) }
          : (() => {
              throw new Error(`input ${input}: element type ${type} is not handled by the benchmark`);
            })();
  return toOrt(data);
}

/**
 * The same work as darkroom's diffusion job, for a batch of B images with B prompts: text encoder
 * at batch 2B ([negative, prompt] per image), `steps` UNet calls at batch 2B with classifier-free
 * guidance and the scheduler step in between, the VAE decoder at batch B, then PNG encoding.
 */
export async function loadInlineDiffusion(
  manifest: DiffusionManifest,
  info: PipelineInfo,
  threads = 0,
): Promise<InlineModel> {
  const dir = info.dir;
  const s = DIFFUSION_SETTINGS;
  const [tokenizer, text, unet, vae] = await Promise.all([
    loadClipTokenizer(path.join(dir, 'tokenizer')),
    openSession(path.join(dir, 'text_encoder', 'model.onnx'), threads),
    openSession(path.join(dir, 'unet', 'model.onnx'), threads),
    openSession(path.join(dir, 'vae_decoder', 'model.onnx'), threads),
  ]);
  const schedulerConfig = parseSchedulerConfig(readJson(path.join(dir, 'scheduler', 'scheduler_config.json')));
  const vaeConfig = readJson(path.join(dir, 'vae_decoder', 'config.json'));
  const scaling = typeof vaeConfig.scaling_factor === 'number' ? vaeConfig.scaling_factor : 0.18215;
  const textInput = text.inputNames.includes('input_ids') ? 'input_ids' : text.inputNames[0];
  const textOutput = text.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : text.outputNames[0];
  const [sampleName, timestepName, hiddenName] = ['sample', 'timestep', 'encoder_hidden_states'];
  const unetOutput = unet.outputNames.includes('out_sample') ? 'out_sample' : unet.outputNames[0];
  const latentHw = [s.height / 8, s.width / 8];
  const size = 4 * latentHw[0] * latentHw[1];

  return {
    name: manifest.name,
    kind: 'diffusion',
    describe: `prompt + seed -> ${s.width}x${s.height} PNG, ${s.steps} ${s.scheduler} steps, guidance ${s.guidance_scale}`,
    async prepare(items) {
      const b = items.length;
      const rows = items.flatMap((item) => [
        tokenizer.encodePadded(s.negative_prompt),
        tokenizer.encodePadded(item.prompt),
      ]);
      const ids = new Int32Array(rows.length * tokenizer.maxLength);
      rows.forEach((r, i) => ids.set(r, i * tokenizer.maxLength));
      const schedulers = items.map(() => createScheduler(s.scheduler, schedulerConfig, s.steps));
      const rngs = items.map((item) => createNormalRng(item.seed));
      let latents: Float32Array[] = items.map((_, i) =>
        normalArray(rngs[i], size).map((v) => v * schedulers[i].initNoiseSigma),
      );
      return {
        async infer() {
          const encoded = await text.run(
            { [textInput]: typed(text, textInput, [rows.length, tokenizer.maxLength], ids) },
            [textOutput],
          );
          const hidden = encoded[textOutput];
          const timesteps = schedulers[0].timesteps;
          for (let step = 0; step < timesteps.length; step++) {
            const samples = new Float32Array(2 * b * size);
            latents.forEach((latent, i) => {
              const x = schedulers[i].scaleModelInput(latent, step);
              samples.set(x, 2 * i * size);
              samples.set(x, (2 * i + 1) * size);
            });
            const out = await unet.run(
              {
                [sampleName]: toOrt({ type: 'float32', dims: [2 * b, 4, ...latentHw], data: samples }),
                [timestepName]: typed(unet, timestepName, [2 * b], new Array<number>(2 * b).fill(timesteps[step])),
                [hiddenName]: hidden,
              },
              [unetOutput],
            );
            const predicted = out[unetOutput].data as Float32Array;
            latents = latents.map((latent, i) => {
              const eps = new Float32Array(size);
              const uncond = 2 * i * size;
              const cond = uncond + size;
              for (let k = 0; k < size; k++)
                eps[k] = predicted[uncond + k] + s.guidance_scale * (predicted[cond + k] - predicted[uncond + k]);
              return schedulers[i].step(eps, step, latent, rngs[i]);
            });
          }
          const scaled = new Float32Array(b * size);
          latents.forEach((latent, i) =>
            scaled.set(
              latent.map((v) => v / scaling),
              i * size,
            ),
          );
          const vaeInput = vae.inputNames[0];
          const decoded = await vae.run({
            [vaeInput]: toOrt({ type: 'float32', dims: [b, 4, ...latentHw], data: scaled }),
          });
          const pixels = decoded[vae.outputNames[0]].data as Float32Array;
          return {
            finish: () =>
              Promise.all(
                items.map((_, i) =>
                  encodeImage(
                    tensorToImage(pixels, i, {
                      width: s.width,
                      height: s.height,
                      layout: 'NCHW',
                      channel_order: 'RGB',
                      range: [-1, 1],
                    }),
                    'png',
                  ),
                ),
              ),
          };
        },
      };
    },
    async close() {
      await Promise.all([text.release(), unet.release(), vae.release()]);
    },
  };
}
