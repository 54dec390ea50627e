import { alphasCumprod, leadingTimesteps, posteriorMean, sigmaAt } from './gaussian-latent-reference';

/**
 * diffusers' samplers re-derived in float64 for the demo UNet's Gaussian prior: the UNet's output
 * is replaced by the exact posterior mean of the guided prior, so a test can predict the latent a
 * correct pipeline returns for a seed's noise (`draw` yields the same normals, in the same order,
 * as the worker's generator for that seed). Written from the papers' update rules, not the worker's
 * scheduler code.
 */

export type ReferenceScheduler = 'euler' | 'euler_ancestral' | 'ddim' | 'lcm';

export interface ReferenceRun {
  scheduler: ReferenceScheduler;
  steps: number;
  /** The guided prior mean, mu("") + g (mu(prompt) - mu("")), one latent [4, h, w]. */
  mean: Float64Array;
  h: number;
  w: number;
  /** `count` standard normals from the seed's generator. */
  draw: (count: number) => ArrayLike<number>;
  /** Image-to-image: the encoded input latent and the strength (Euler only). */
  init?: { latent: ArrayLike<number>; strength: number };
}

const SIGMA_DATA = 0.5;

function eulerFamily(run: ReferenceRun, ancestral: boolean): Float64Array {
  const { steps, mean, h, w, draw } = run;
  const timesteps = leadingTimesteps(steps);
  const sigmas = [...timesteps.map(sigmaAt), 0];
  const noise = draw(mean.length);
  let start = 0;
  let x: Float64Array;
  if (run.init) {
    start = steps - Math.min(Math.floor(steps * run.init.strength), steps);
    const latent = run.init.latent;
    x = Float64Array.from(noise, (n, i) => latent[i] + sigmas[start] * n);
  } else {
    x = Float64Array.from(noise, (n) => n * Math.sqrt(sigmas[0] ** 2 + 1));
  }
  for (let i = start; i < steps; i++) {
    const [sigma, next] = [sigmas[i], sigmas[i + 1]];
    const denoised = posteriorMean(x, mean, sigma, h, w);
    const up = ancestral ? Math.sqrt((next * next * (sigma * sigma - next * next)) / (sigma * sigma)) : 0;
    const down = ancestral ? Math.sqrt(next * next - up * up) : next;
    const fresh = ancestral ? draw(x.length) : undefined;
    x = x.map((v, k) => v + ((v - denoised[k]) / sigma) * (down - sigma) + (fresh ? fresh[k] * up : 0));
  }
  return x;
}

/** DDIM (eta 0) walks the VP sample; alphas_cumprod[0] past the end, as set_alpha_to_one = false. */
function ddim(run: ReferenceRun): Float64Array {
  const { steps, mean, h, w } = run;
  const abar = alphasCumprod();
  let x = Float64Array.from(run.draw(mean.length));
  for (const t of leadingTimesteps(steps)) {
    const prev = t - Math.floor(1000 / steps);
    const [a, aPrev] = [abar[t], prev >= 0 ? abar[prev] : abar[0]];
    const x0 = posteriorMean(
      x.map((v) => v / Math.sqrt(a)),
      mean,
      sigmaAt(t),
      h,
      w,
    );
    x = x.map((v, k) => {
      const eps = (v - Math.sqrt(a) * x0[k]) / Math.sqrt(1 - a);
      return Math.sqrt(aPrev) * x0[k] + Math.sqrt(1 - aPrev) * eps;
    });
  }
  return x;
}

/** LCM: consistency boundary condition, then fresh noise to the next of its 50-step timesteps. */
function lcm(run: ReferenceRun): Float64Array {
  const { steps, mean, h, w } = run;
  const abar = alphasCumprod();
  const distilled = Array.from({ length: 50 }, (_, i) => (50 - i) * 20 - 1);
  const timesteps = Array.from({ length: steps }, (_, i) => distilled[Math.floor((i * 50) / steps)]);
  let x = Float64Array.from(run.draw(mean.length));
  for (let i = 0; i < steps; i++) {
    const t = timesteps[i];
    const a = abar[t];
    const x0 = posteriorMean(
      x.map((v) => v / Math.sqrt(a)),
      mean,
      sigmaAt(t),
      h,
      w,
    );
    const scaled = t * 10;
    const cSkip = SIGMA_DATA ** 2 / (scaled * scaled + SIGMA_DATA ** 2);
    const cOut = scaled / Math.sqrt(scaled * scaled + SIGMA_DATA ** 2);
    const denoised = x.map((v, k) => cOut * x0[k] + cSkip * v);
    if (i === steps - 1) return denoised;
    const aNext = abar[timesteps[i + 1]];
    const fresh = run.draw(x.length);
    x = denoised.map((v, k) => Math.sqrt(aNext) * v + Math.sqrt(1 - aNext) * fresh[k]);
  }
  return x;
}

/** The final latent (what the pipeline divides by the VAE scaling factor and decodes). */
export function referenceLatent(run: ReferenceRun): Float64Array {
  switch (run.scheduler) {
    case 'euler':
      return eulerFamily(run, false);
    case 'euler_ancestral':
      return eulerFamily(run, true);
    case 'ddim':
      return ddim(run);
    case 'lcm':
      return lcm(run);
  }
}
