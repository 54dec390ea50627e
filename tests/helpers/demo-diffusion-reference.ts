import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadClipTokenizer, type ClipTokenizer } from '../../workers/diffusion/clip-tokenizer';
import { createNormalRng, normalArray } from '../../workers/diffusion/normal-rng';
import { alphasCumprod, impliedMean } from './gaussian-latent-reference';
import { referenceLatent, type ReferenceScheduler } from './gaussian-sampler-reference';

/**
 * What a correct pipeline must return for the demo-diffusion model, computed straight from its
 * graphs: the prompts' prior means come from the text encoder and UNet (inverting the UNet's
 * closed form), the sampler is the float64 re-derivation, the picture comes from the VAE decoder.
 */

const SCALING = 0.18215;

export interface ExpectedImage {
  prompt: string;
  guidance: number;
  width: number;
  height: number;
  seed: number;
  scheduler: ReferenceScheduler;
  steps: number;
  /** Image-to-image: the input as RGB bytes of exactly width x height, and the strength. */
  input?: { rgb: Buffer; strength: number };
}

export class DemoDiffusionReference {
  private constructor(
    private readonly sessions: Record<string, ort.InferenceSession>,
    private readonly tokenizer: ClipTokenizer,
  ) {}

  static async open(dir: string): Promise<DemoDiffusionReference> {
    const sessions: Record<string, ort.InferenceSession> = {};
    for (const part of ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder'])
      sessions[part] = await ort.InferenceSession.create(path.join(dir, part, 'model.onnx'));
    return new DemoDiffusionReference(sessions, await loadClipTokenizer(path.join(dir, 'tokenizer')));
  }

  async close(): Promise<void> {
    for (const s of Object.values(this.sessions)) await s.release();
  }

  /** The prior mean the UNet implies for a prompt: its prediction at x_t = 0, t = 999, inverted. */
  async priorMean(prompt: string, h: number, w: number): Promise<Float64Array> {
    const ids = new ort.Tensor('int32', this.tokenizer.encodePadded(prompt), [1, 77]);
    const hidden = (await this.sessions.text_encoder.run({ input_ids: ids })).last_hidden_state;
    const zeros = new Float32Array(4 * h * w);
    const out = await this.sessions.unet.run({
      sample: new ort.Tensor('float32', zeros, [1, 4, h, w]),
      timestep: new ort.Tensor('int64', BigInt64Array.from([999n]), [1]),
      encoder_hidden_states: hidden,
    });
    return impliedMean(zeros, out.out_sample.data as Float32Array, alphasCumprod()[999], h, w);
  }

  /** The image as 8-bit RGB, interleaved. */
  async pixels(spec: ExpectedImage): Promise<Buffer> {
    const { width, height, guidance } = spec;
    const [h, w] = [height / 8, width / 8];
    const cond = await this.priorMean(spec.prompt, h, w);
    const blank = guidance > 1 ? await this.priorMean('', h, w) : cond;
    const mean = cond.map((c, i) => blank[i] + guidance * (c - blank[i]));
    const rng = createNormalRng(spec.seed);
    const init = spec.input && {
      latent: await this.encode(spec.input.rgb, width, height),
      strength: spec.input.strength,
    };
    const latent = referenceLatent({ ...spec, mean, h, w, draw: (n) => normalArray(rng, n), init });
    return this.decode(latent, width, height);
  }

  private async encode(rgb: Buffer, width: number, height: number): Promise<Float64Array> {
    const plane = width * height;
    const planes = new Float32Array(3 * plane);
    for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) planes[c * plane + i] = (rgb[i * 3 + c] * 2) / 255 - 1;
    const out = await this.sessions.vae_encoder.run({
      sample: new ort.Tensor('float32', planes, [1, 3, height, width]),
    });
    return Float64Array.from(out.latent_sample.data as Float32Array, (v) => v * SCALING);
  }

  private async decode(latent: Float64Array, width: number, height: number): Promise<Buffer> {
    const scaled = Float32Array.from(latent, (v) => v / SCALING);
    const decoded = await this.sessions.vae_decoder.run({
      latent_sample: new ort.Tensor('float32', scaled, [1, 4, height / 8, width / 8]),
    });
    const planes = decoded.sample.data as Float32Array;
    const plane = width * height;
    const out = Buffer.alloc(plane * 3);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < plane; i++)
        out[i * 3 + c] = Math.max(0, Math.min(255, Math.round((planes[c * plane + i] + 1) * 127.5)));
    return out;
  }
}

/** Mean absolute difference of two byte images, in grey levels. */
export function meanAbsoluteDifference(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

/** Pearson correlation of the Rec. 601 luma of two interleaved RGB images. */
export function lumaCorrelation(a: Buffer, b: Buffer): number {
  const luma = (rgb: Buffer) =>
    Float64Array.from(
      { length: rgb.length / 3 },
      (_, i) => 0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2],
    );
  const [x, y] = [luma(a), luma(b)];
  const mean = (v: Float64Array) => v.reduce((s, t) => s + t, 0) / v.length;
  const [mx, my] = [mean(x), mean(y)];
  let [sxy, sxx, syy] = [0, 0, 0];
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
