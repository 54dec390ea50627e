import {
  PRIOR_AMPLITUDE,
  PRIOR_F0,
  PRIOR_FLOOR,
  PRIOR_P,
  priorChannelRotation,
} from '../../scripts/demo-models/tiny-diffusion/latent-prior';

/**
 * A float64 re-derivation of the demo UNet's data model (scripts/demo-models/tiny-diffusion/
 * latent-prior.ts), written from its formulas and constants only, so tests can predict what a
 * correct pipeline produces from a given noise: the rotated 2-D DCT that diagonalises the prior,
 * the prior's variances, and the posterior mean that is the optimal denoiser.
 * All arrays are one latent, [4, h, w] in row-major order.
 */

/** alphas_cumprod of SD 1.x's scaled_linear schedule (beta 0.00085 -> 0.012 over 1000 steps). */
export function alphasCumprod(): Float64Array {
  const out = new Float64Array(1000);
  let product = 1;
  for (let t = 0; t < 1000; t++) {
    product *= 1 - (Math.sqrt(0.00085) + ((Math.sqrt(0.012) - Math.sqrt(0.00085)) * t) / 999) ** 2;
    out[t] = product;
  }
  return out;
}

/** The variance-exploding noise level of timestep t: sqrt((1 - abar) / abar). */
export function sigmaAt(t: number): number {
  const abar = alphasCumprod()[t];
  return Math.sqrt((1 - abar) / abar);
}

/** diffusers' "leading" timesteps with steps_offset 1: 951, 901, ..., 1 for 20 steps. */
export const leadingTimesteps = (steps: number): number[] =>
  Array.from({ length: steps }, (_, i) => (steps - 1 - i) * Math.floor(1000 / steps) + 1);

function dctMatrix(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let k = 0; k < n; k++)
    for (let x = 0; x < n; x++)
      m[k * n + x] = Math.sqrt((k === 0 ? 1 : 2) / n) * Math.cos((Math.PI * k * (x + 0.5)) / n);
  return m;
}

/** Rotates channels then applies the orthonormal DCT (or, inverse, the transposes in reverse order). */
function transform(x: ArrayLike<number>, h: number, w: number, inverse: boolean): Float64Array {
  const [rows, cols, rot] = [dctMatrix(h), dctMatrix(w), priorChannelRotation()];
  const plane = h * w;
  const mix = (src: ArrayLike<number>) => {
    const out = new Float64Array(4 * plane);
    for (let o = 0; o < 4; o++)
      for (let i = 0; i < 4; i++) {
        const weight = inverse ? rot[i][o] : rot[o][i];
        for (let p = 0; p < plane; p++) out[o * plane + p] += weight * src[i * plane + p];
      }
    return out;
  };
  // Separable: along columns within each row, then along rows within each column.
  const spatial = (src: Float64Array) => {
    const [across, out] = [new Float64Array(4 * plane), new Float64Array(4 * plane)];
    const at = (m: Float64Array, n: number, k: number, x: number) => (inverse ? m[x * n + k] : m[k * n + x]);
    for (let c = 0; c < 4; c++) {
      for (let y = 0; y < h; y++)
        for (let b = 0; b < w; b++) {
          let sum = 0;
          for (let x = 0; x < w; x++) sum += at(cols, w, b, x) * src[c * plane + y * w + x];
          across[c * plane + y * w + b] = sum;
        }
      for (let a = 0; a < h; a++)
        for (let b = 0; b < w; b++) {
          let sum = 0;
          for (let y = 0; y < h; y++) sum += at(rows, h, a, y) * across[c * plane + y * w + b];
          out[c * plane + a * w + b] = sum;
        }
    }
    return out;
  };
  return inverse ? mix(spatial(Float64Array.from(x))) : spatial(mix(x));
}

export const toPrior = (x: ArrayLike<number>, h: number, w: number) => transform(x, h, w, false);
export const fromPrior = (y: ArrayLike<number>, h: number, w: number) => transform(y, h, w, true);

/** The prior's variance of every rotated-DCT coefficient. */
export function priorVariance(h: number, w: number): Float64Array {
  const s = Math.min(h, w);
  const g = new Float64Array(h * w);
  for (let ky = 0; ky < h; ky++)
    for (let kx = 0; kx < w; kx++)
      g[ky * w + kx] = (1 + ((ky * s) / h) ** 2 / PRIOR_F0 ** 2 + ((kx * s) / w) ** 2 / PRIOR_F0 ** 2) ** -PRIOR_P;
  const total = g.reduce((sum, v) => sum + v, 0);
  const out = new Float64Array(4 * h * w);
  for (let c = 0; c < 4; c++)
    for (let k = 0; k < h * w; k++)
      out[c * h * w + k] = (h * w * PRIOR_AMPLITUDE[c] ** 2 * g[k]) / total + PRIOR_FLOOR[c] ** 2;
  return out;
}

/** E[x0 | x] for a VE sample x = x0 + sigma eps: mu + s2 / (s2 + sigma^2) (x - mu), coefficient by coefficient. */
export function posteriorMean(x: ArrayLike<number>, mean: ArrayLike<number>, sigma: number, h: number, w: number) {
  const s2 = priorVariance(h, w);
  const m = toPrior(mean, h, w);
  const y = toPrior(x, h, w);
  return fromPrior(
    y.map((v, k) => m[k] + (s2[k] / (s2[k] + sigma * sigma)) * (v - m[k])),
    h,
    w,
  );
}

/**
 * The prior mean an epsilon prediction implies, inverting eps = sqrt(1 - abar) (abar C + (1 - abar) I)^-1
 * (x_t - sqrt(abar) mu) for one latent.
 */
export function impliedMean(x: ArrayLike<number>, eps: ArrayLike<number>, abar: number, h: number, w: number) {
  const s2 = priorVariance(h, w);
  const whitened = toPrior(eps, h, w).map((v, k) => (v * (abar * s2[k] + 1 - abar)) / Math.sqrt(1 - abar));
  const residual = fromPrior(whitened, h, w);
  return Float64Array.from(residual, (r, i) => (x[i] - r) / Math.sqrt(abar));
}
