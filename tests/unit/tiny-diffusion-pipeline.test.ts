import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import type * as Ort from 'onnxruntime-node';
import { gaussian } from '../../scripts/demo-models/seeded-random';
import { buildTinyDiffusionPipeline } from '../../scripts/demo-models/tiny-diffusion/build-tiny-diffusion-pipeline';
import { LATENT_BASIS, VAE_SCALING_FACTOR } from '../../scripts/demo-models/tiny-diffusion/latent-colour-space';
import { PROMPT_WORDS } from '../../scripts/demo-models/tiny-diffusion/prompt-words';
import { alphasCumprod, impliedMean } from '../helpers/gaussian-latent-reference';

const LENGTH = 77;
let ort: typeof Ort;
let dir: string;
let vocab: Record<string, number>;
let ranks: Map<string, number>;
const sessions: Record<string, Ort.InferenceSession> = {};

const readJson = (file: string) => JSON.parse(readFileSync(path.join(dir, file), 'utf8'));

beforeAll(async () => {
  ort = await import('onnxruntime-node');
  dir = mkdtempSync(path.join(tmpdir(), 'darkroom-tiny-diffusion-'));
  await buildTinyDiffusionPipeline(dir);
  for (const part of ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']) {
    sessions[part] = await ort.InferenceSession.create(path.join(dir, part, 'model.onnx'));
  }
  vocab = readJson('tokenizer/vocab.json');
  const merges = readFileSync(path.join(dir, 'tokenizer/merges.txt'), 'utf8').split('\n').slice(1, -1);
  ranks = new Map(merges.map((line, rank) => [line, rank]));
});

afterAll(async () => {
  for (const session of Object.values(sessions)) await session.release();
  rmSync(dir, { recursive: true, force: true });
});

/** Reference CLIP BPE for lower-case ASCII words: merge the lowest-ranked pair until none applies. */
function bpe(word: string): string[] {
  let parts = [...word.slice(0, -1), `${word.slice(-1)}</w>`];
  for (;;) {
    let best = -1;
    for (let i = 0; i + 1 < parts.length; i++) {
      const rank = ranks.get(`${parts[i]} ${parts[i + 1]}`);
      if (rank !== undefined && (best < 0 || rank < (ranks.get(`${parts[best]} ${parts[best + 1]}`) as number)))
        best = i;
    }
    if (best < 0) return parts;
    const [left, right] = [parts[best], parts[best + 1]];
    const merged: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] === left && parts[i + 1] === right) merged.push(parts[i++] + right);
      else merged.push(parts[i]);
    }
    parts = merged;
  }
}

/** <|startoftext|> words <|endoftext|>, padded with <|endoftext|> to 77, as CLIP tokenizes. */
function tokenize(prompt: string): number[] {
  const words = prompt.toLowerCase().match(/[a-z]+|[^\sa-z]/g) ?? [];
  const ids = [vocab['<|startoftext|>'], ...words.flatMap((w) => bpe(w).map((t) => vocab[t])), vocab['<|endoftext|>']];
  return [...ids, ...new Array<number>(LENGTH - ids.length).fill(vocab['<|endoftext|>'])];
}

async function encodeText(prompts: string[]) {
  const ids = new Int32Array(prompts.flatMap(tokenize));
  const out = await sessions.text_encoder.run({ input_ids: new ort.Tensor('int32', ids, [prompts.length, LENGTH]) });
  return { hidden: out.last_hidden_state as Ort.Tensor, pooled: out.pooler_output as Ort.Tensor, ids };
}

async function unet(
  sample: Float32Array,
  dims: number[],
  timesteps: number[],
  context: Ort.Tensor,
): Promise<Float32Array> {
  const out = await sessions.unet.run({
    sample: new ort.Tensor('float32', sample, dims),
    timestep: new ort.Tensor('int64', BigInt64Array.from(timesteps.map(BigInt)), [timesteps.length]),
    encoder_hidden_states: context,
  });
  return out.out_sample.data as Float32Array;
}

/** The prior mean the UNet implies for each prompt (from its prediction at x_t = 0, t = 999), in float64. */
async function targetLatents(prompts: string[], height = 32, width = 32): Promise<Float64Array> {
  const { hidden } = await encodeText(prompts);
  const perItem = 4 * height * width;
  const zeros = new Float32Array(prompts.length * perItem);
  const eps = await unet(
    zeros,
    [prompts.length, 4, height, width],
    prompts.map(() => 999),
    hidden,
  );
  const out = new Float64Array(zeros.length);
  for (let b = 0; b < prompts.length; b++) {
    const item = eps.subarray(b * perItem, (b + 1) * perItem);
    out.set(impliedMean(new Float64Array(perItem), item, alphasCumprod()[999], height, width), b * perItem);
  }
  return out;
}

function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

async function decode(latent: Float64Array, dims: number[]): Promise<Ort.Tensor> {
  const scaled = Float32Array.from(latent, (x) => x / VAE_SCALING_FACTOR);
  return (await sessions.vae_decoder.run({ latent_sample: new ort.Tensor('float32', scaled, dims) }))
    .sample as Ort.Tensor;
}

describe('tiny-diffusion pipeline folder', () => {
  it('has the optimum ONNX export layout, under 2 MB, deterministic', async () => {
    const files = (readdirSync(dir, { recursive: true }) as string[])
      .filter((f) => statSync(path.join(dir, f)).isFile())
      .sort();
    expect(files).toEqual([
      'model_index.json',
      'scheduler/scheduler_config.json',
      'text_encoder/config.json',
      'text_encoder/model.onnx',
      'tokenizer/merges.txt',
      'tokenizer/special_tokens_map.json',
      'tokenizer/tokenizer_config.json',
      'tokenizer/vocab.json',
      'unet/config.json',
      'unet/model.onnx',
      'vae_decoder/config.json',
      'vae_decoder/model.onnx',
      'vae_encoder/config.json',
      'vae_encoder/model.onnx',
    ]);
    expect(files.reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0)).toBeLessThan(2 * 1024 * 1024);

    const again = mkdtempSync(path.join(tmpdir(), 'darkroom-tiny-diffusion-again-'));
    try {
      await buildTinyDiffusionPipeline(again);
      for (const f of files)
        expect(readFileSync(path.join(again, f)).equals(readFileSync(path.join(dir, f)))).toBe(true);
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });

  it('declares an SD 1.x pipeline with an Euler scheduler and the VAE scaling factor', () => {
    expect(readJson('model_index.json')).toMatchObject({
      _class_name: 'StableDiffusionPipeline',
      scheduler: ['diffusers', 'EulerDiscreteScheduler'],
    });
    expect(readJson('scheduler/scheduler_config.json')).toMatchObject({
      num_train_timesteps: 1000,
      beta_start: 0.00085,
      beta_end: 0.012,
      beta_schedule: 'scaled_linear',
      prediction_type: 'epsilon',
      timestep_spacing: 'leading',
      steps_offset: 1,
    });
    expect(readJson('vae_decoder/config.json')).toMatchObject({ scaling_factor: 0.18215, latent_channels: 4 });
    expect(readJson('unet/config.json')).toMatchObject({ in_channels: 4, sample_size: 32, cross_attention_dim: 32 });
  });

  it('gives every graph the optimum tensor names, types and shapes', () => {
    const signature = (session: Ort.InferenceSession) =>
      [...session.inputMetadata, ...session.outputMetadata].map((m) =>
        m.isTensor ? `${m.name}:${m.type}[${m.shape.join(',')}]` : m.name,
      );
    expect(signature(sessions.text_encoder)).toEqual([
      'input_ids:int32[batch,77]',
      'last_hidden_state:float32[batch,77,32]',
      'pooler_output:float32[batch,32]',
    ]);
    expect(signature(sessions.unet)).toEqual([
      'sample:float32[batch,4,height,width]',
      'timestep:int64[batch]',
      'encoder_hidden_states:float32[batch,77,32]',
      'out_sample:float32[batch,4,height,width]',
    ]);
    expect(signature(sessions.vae_decoder)).toEqual([
      'latent_sample:float32[batch,4,height,width]',
      'sample:float32[batch,3,image_height,image_width]',
    ]);
    expect(signature(sessions.vae_encoder)).toEqual([
      'sample:float32[batch,3,height,width]',
      'latent_sample:float32[batch,4,latent_height,latent_width]',
    ]);
  });
});

describe('tiny-diffusion tokenizer files', () => {
  it('follow CLIP: byte symbols, their </w> forms, one token per merge, then the two special tokens', () => {
    const size = Object.keys(vocab).length;
    const merges = [...ranks.keys()];
    expect(readFileSync(path.join(dir, 'tokenizer/merges.txt'), 'utf8').startsWith('#version: 0.2\n')).toBe(true);
    expect(new Set(Object.values(vocab)).size).toBe(size);
    expect([vocab['!'], vocab['!</w>'], vocab['a</w>'] - vocab.a, vocab['Ń'], vocab['Ń</w>']]).toEqual([
      0, 256, 256, 255, 511,
    ]);
    merges.forEach((merge, rank) => expect(vocab[merge.replace(' ', '')]).toBe(512 + rank));
    expect(size).toBe(512 + merges.length + 2);
    expect([vocab['<|startoftext|>'], vocab['<|endoftext|>']]).toEqual([size - 2, size - 1]);
    expect(merges.length).toBeGreaterThan(300);
  });

  it('make every training word one token, as any CLIP BPE applies the merges', () => {
    const split = PROMPT_WORDS.filter((word) => bpe(word).length !== 1);
    expect(split).toEqual([]);
    expect(tokenize('A photo of a cat').slice(0, 7)).toEqual([
      vocab['<|startoftext|>'],
      vocab['a</w>'],
      vocab['photo</w>'],
      vocab['of</w>'],
      vocab['a</w>'],
      vocab['cat</w>'],
      vocab['<|endoftext|>'],
    ]);
  });

  it('configure CLIPTokenizer with pad = eos, 77 tokens, lower case, and the same ids as the text encoder', () => {
    const eos = vocab['<|endoftext|>'];
    expect(readJson('tokenizer/tokenizer_config.json')).toMatchObject({
      model_max_length: 77,
      do_lower_case: true,
      pad_token: '<|endoftext|>',
      bos_token: { content: '<|startoftext|>' },
      eos_token: { content: '<|endoftext|>' },
      tokenizer_class: 'CLIPTokenizer',
    });
    expect(readJson('tokenizer/special_tokens_map.json')).toMatchObject({
      bos_token: { content: '<|startoftext|>' },
      pad_token: '<|endoftext|>',
    });
    expect(readJson('text_encoder/config.json')).toMatchObject({
      bos_token_id: eos - 1,
      eos_token_id: eos,
      pad_token_id: eos,
      vocab_size: eos + 1,
    });
  });
});

describe('tiny-diffusion text encoder', () => {
  it('depends on the words and pools at the first <|endoftext|>, like CLIP', async () => {
    const { hidden, pooled, ids } = await encodeText(['a cat', 'a dog']);
    const h = hidden.data as Float32Array;
    const p = pooled.data as Float32Array;
    const width = 32;
    expect(meanAbsDiff(h.subarray(0, LENGTH * width), h.subarray(LENGTH * width))).toBeGreaterThan(0.1);
    for (let b = 0; b < 2; b++) {
      const eosAt = ids.subarray(b * LENGTH, (b + 1) * LENGTH).indexOf(vocab['<|endoftext|>']);
      const row = h.subarray((b * LENGTH + eosAt) * width, (b * LENGTH + eosAt + 1) * width);
      expect(meanAbsDiff(p.subarray(b * width, (b + 1) * width), row)).toBeLessThan(1e-6);
    }
  });
});

describe('tiny-diffusion UNet', () => {
  it('stores SD 1.x alphas_cumprod (scaled_linear betas) as a 1000-entry table', () => {
    const model = onnx.ModelProto.decode(readFileSync(path.join(dir, 'unet/model.onnx')));
    const table = model.graph?.initializer?.find((t) => t.name?.startsWith('alphas_cumprod'));
    const raw = table?.rawData as Uint8Array;
    const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    expect(values).toHaveLength(1000);
    expect(values[0]).toBeCloseTo(1 - 0.00085, 7);
    expect(values[999]).toBeCloseTo(0.0047, 4);
    expect(meanAbsDiff(values, alphasCumprod())).toBeLessThan(1e-7);
  });

  it('is the exact denoiser of its Gaussian prior: every noisy sample and timestep implies the same mean', async () => {
    const { hidden } = await encodeText(['sunset over the ocean', 'a red fox in a green forest']);
    const next = gaussian(7);
    const alphas = alphasCumprod();
    // A non-square size checks the DCT built from the runtime shape along both axes.
    const [h, w] = [12, 20];
    const perItem = 4 * h * w;
    const estimates: Float64Array[] = [];
    for (const timesteps of [
      [999, 1],
      [500, 250],
      [20, 981],
    ]) {
      const sample = Float32Array.from({ length: 2 * perItem }, () => next() * 3);
      const eps = await unet(sample, [2, 4, h, w], timesteps, hidden);
      const means = [0, 1].map((b) =>
        impliedMean(
          sample.subarray(b * perItem, (b + 1) * perItem),
          eps.subarray(b * perItem, (b + 1) * perItem),
          alphas[timesteps[b]],
          h,
          w,
        ),
      );
      estimates.push(Float64Array.from([...means[0], ...means[1]]));
    }
    for (const other of estimates.slice(1)) {
      let worst = 0;
      for (let i = 0; i < other.length; i++) worst = Math.max(worst, Math.abs(other[i] - estimates[0][i]));
      expect(worst).toBeLessThan(1e-3);
    }
    const [first, second] = [estimates[0].subarray(0, perItem), estimates[0].subarray(perItem)];
    expect(meanAbsDiff(first, second)).toBeGreaterThan(0.6);
  });

  it('aims at distinct latents per prompt, a near-blank one for "", at twice SD latent scale and any size', async () => {
    const prompts = ['a cat', 'a dog', 'castle on a hill', ''];
    const latents = await targetLatents(prompts);
    const perItem = 4 * 32 * 32;
    const item = (k: number) => latents.subarray(k * perItem, (k + 1) * perItem);
    for (let a = 0; a < prompts.length; a++)
      for (let b = a + 1; b < prompts.length; b++) expect(meanAbsDiff(item(a), item(b))).toBeGreaterThan(0.3);
    for (let k = 0; k < 3; k++) {
      const std = Math.sqrt(item(k).reduce((sum, x) => sum + x * x, 0) / perItem);
      expect(std).toBeGreaterThan(0.8);
      expect(std).toBeLessThan(4);
    }
    const wide = await targetLatents(['a cat'], 24, 40);
    expect(wide).toHaveLength(4 * 24 * 40);
    expect(wide.every(Number.isFinite)).toBe(true);
  });
});

describe('tiny-diffusion VAE', () => {
  it('decodes 8x larger images in -1..1, tinted by colour words', async () => {
    const image = await decode(await targetLatents(['red', 'blue']), [2, 4, 32, 32]);
    expect(image.dims).toEqual([2, 3, 256, 256]);
    const pixels = image.data as Float32Array;
    expect(pixels.every((x) => x >= -1 && x <= 1)).toBe(true);
    const plane = 256 * 256;
    const channelMean = (b: number, c: number) =>
      pixels.subarray((b * 3 + c) * plane, (b * 3 + c + 1) * plane).reduce((s, x) => s + x, 0) / plane;
    expect(channelMean(0, 0) - channelMean(0, 2)).toBeGreaterThan(0.3);
    expect(channelMean(1, 2) - channelMean(1, 0)).toBeGreaterThan(0.3);
  });

  it('encodes a decoded latent back to its colour content', async () => {
    const latent = await targetLatents(['sunset over the ocean', 'a golden dragon']);
    const image = await decode(latent, [2, 4, 32, 32]);
    const encoded = (await sessions.vae_encoder.run({ sample: image })).latent_sample as Ort.Tensor;
    expect(encoded.dims).toEqual([2, 4, 32, 32]);
    const recovered = Float64Array.from(encoded.data as Float32Array, (x) => x * VAE_SCALING_FACTOR);
    // Compare along the latent directions the decoder turns into colour; texture is not invertible.
    const plane = 32 * 32;
    const project = (values: Float64Array, row: number) =>
      Float64Array.from({ length: 2 * plane }, (_, i) => {
        const [b, p] = [Math.floor(i / plane), i % plane];
        return LATENT_BASIS[row].reduce((sum, w, c) => sum + w * values[(b * 4 + c) * plane + p], 0);
      });
    for (const row of [0, 1, 2]) expect(meanAbsDiff(project(recovered, row), project(latent, row))).toBeLessThan(0.1);
  });
});
