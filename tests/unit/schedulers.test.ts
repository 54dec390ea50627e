import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createNormalRng, normalArray } from '../../workers/diffusion/normal-rng';
import { createScheduler, img2imgStart } from '../../workers/diffusion/schedulers/create-scheduler';
import { cumulativeAlphas, makeBetas } from '../../workers/diffusion/schedulers/noise-schedule';
import type { Scheduler } from '../../workers/diffusion/schedulers/scheduler';
import {
  parseSchedulerConfig,
  type SchedulerConfig,
  type SchedulerName,
} from '../../workers/diffusion/schedulers/scheduler-config';

const SD_CONFIG_FILE = path.resolve(
  __dirname,
  '../../../shared/models/clip-tokenizer-sd-v1-4/configs/scheduler_config.json',
);

// Stable Diffusion 1.x: scaled_linear betas 0.00085..0.012 over 1000 steps, steps_offset 1.
const SD = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  steps_offset: 1,
  set_alpha_to_one: false,
  clip_sample: false,
};
const sd = (extra: Record<string, unknown> = {}): SchedulerConfig => parseSchedulerConfig({ ...SD, ...extra });

// Written out here rather than taken from the code under test: sqrt(beta) linear, abar = prod(1 - beta).
const ABAR: number[] = (() => {
  const out: number[] = [];
  let product = 1;
  for (let t = 0; t < 1000; t++) {
    const sqrtBeta = Math.sqrt(0.00085) + ((Math.sqrt(0.012) - Math.sqrt(0.00085)) * t) / 999;
    product *= 1 - sqrtBeta * sqrtBeta;
    out.push(product);
  }
  return out;
})();
const sigmaAt = (t: number) => Math.sqrt((1 - ABAR[t]) / ABAR[t]);
const range = (from: number, to: number, step: number) =>
  Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  const worst = Math.max(...Array.from(actual, (a, i) => Math.abs(a - expected[i])));
  expect(worst).toBeLessThan(tolerance);
}

describe('noise schedule', () => {
  it('has the SD alphas_cumprod at both ends', () => {
    const abar = cumulativeAlphas(makeBetas('scaled_linear', 0.00085, 0.012, 1000));
    expect(abar[0]).toBeCloseTo(1 - 0.00085, 12);
    expect(abar[999]).toBeCloseTo(0.0047, 4);
    expectClose(abar, ABAR, 1e-12);
    const linear = cumulativeAlphas(makeBetas('linear', 0.0001, 0.02, 1000));
    expect(linear[1]).toBeCloseTo(0.9999 * (1 - (0.0001 + 0.0199 / 999)), 12);
  });
});

describe('timesteps', () => {
  const steps = (name: SchedulerName, n: number, extra: Record<string, unknown> = {}) =>
    createScheduler(name, sd(extra), n).timesteps;

  it('leading spacing with steps_offset 1', () => {
    const leading = { timestep_spacing: 'leading' };
    expect(steps('ddim', 1, leading)).toEqual([1]);
    expect(steps('ddim', 4, leading)).toEqual([751, 501, 251, 1]);
    expect(steps('ddim', 20, leading)).toEqual(range(1, 951, 50).reverse());
    expect(steps('ddim', 50, leading)).toEqual(range(1, 981, 20).reverse());
    expect(steps('euler', 50, leading)).toEqual(range(1, 981, 20).reverse());
  });

  it('trailing spacing', () => {
    const trailing = { timestep_spacing: 'trailing' };
    expect(steps('ddim', 1, trailing)).toEqual([999]);
    expect(steps('ddim', 4, trailing)).toEqual([999, 749, 499, 249]);
    expect(steps('euler', 20, trailing)).toEqual(range(49, 999, 50).reverse());
    expect(steps('ddim', 50, trailing)).toEqual(range(19, 999, 20).reverse());
    // 1000 - i * 62.5 has halves: numpy.round sends 937.5 to 938 and 812.5 to 812 (half to even).
    expect(steps('ddim', 16, trailing).slice(0, 4)).toEqual([999, 937, 874, 811]);
  });

  it('linspace spacing, the Euler default when the config does not name one', () => {
    expect(createScheduler('euler', sd(), 4).timesteps).toEqual([999, 666, 333, 0]);
    expect(createScheduler('euler', sd(), 3).timesteps).toEqual([999, 499.5, 0]);
    expect(steps('ddim', 3, { timestep_spacing: 'linspace' })).toEqual([999, 500, 0]); // 499.5 to even
  });

  it('LCM takes n of the 50 distillation timesteps', () => {
    expect(createScheduler('lcm', sd(), 1).timesteps).toEqual([999]);
    expect(createScheduler('lcm', sd(), 2).timesteps).toEqual([999, 499]);
    expect(createScheduler('lcm', sd(), 4).timesteps).toEqual([999, 759, 499, 259]);
    expect(createScheduler('lcm', sd(), 8).timesteps).toEqual([999, 879, 759, 639, 499, 379, 259, 139]);
    expect(() => createScheduler('lcm', sd(), 51)).toThrow(/original_inference_steps/);
  });
});

describe('Euler sigmas', () => {
  it('starts from sigma_max = 14.6146 and scales the model input by 1/sqrt(sigma^2 + 1)', () => {
    const euler = createScheduler('euler', sd({ timestep_spacing: 'trailing' }), 4);
    expect(sigmaAt(999)).toBeCloseTo(14.6146, 4);
    expect(sigmaAt(0)).toBeCloseTo(0.0292, 4);
    expect(euler.initNoiseSigma).toBeCloseTo(sigmaAt(999), 10);
    euler.timesteps.forEach((t, i) => {
      const scaled = euler.scaleModelInput(Float32Array.of(1, -2), i);
      expectClose(scaled, [1 / Math.sqrt(sigmaAt(t) ** 2 + 1), -2 / Math.sqrt(sigmaAt(t) ** 2 + 1)], 1e-7);
    });
  });

  it('interpolates sigma linearly at fractional timesteps', () => {
    const euler = createScheduler('euler', sd(), 3); // 999, 499.5, 0
    const sigma = (sigmaAt(499) + sigmaAt(500)) / 2;
    expectClose(euler.scaleModelInput(Float32Array.of(1), 1), [1 / Math.sqrt(sigma ** 2 + 1)], 1e-7);
  });

  it('adds unit variance to the initial sigma with leading spacing', () => {
    const euler = createScheduler('euler', sd({ timestep_spacing: 'leading' }), 50);
    expect(euler.initNoiseSigma).toBeCloseTo(Math.sqrt(sigmaAt(981) ** 2 + 1), 10);
  });
});

describe('single steps against hand-derived values', () => {
  const x = Float32Array.of(1, -0.5, 2);
  const eps = Float32Array.of(0.2, 0.1, -1.5);

  it('DDIM: x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps', () => {
    const ddim = createScheduler('ddim', sd({ timestep_spacing: 'leading' }), 50);
    const expected = (t: number, prev: number) =>
      Array.from(x, (xi, i) => {
        const x0 = (xi - Math.sqrt(1 - ABAR[t]) * eps[i]) / Math.sqrt(ABAR[t]);
        return Math.sqrt(ABAR[prev]) * x0 + Math.sqrt(1 - ABAR[prev]) * eps[i];
      });
    expectClose(ddim.step(eps, 0, x), expected(981, 961), 1e-5);
    // The last step (t = 1) goes past 0 and, with set_alpha_to_one false, uses abar_0.
    expectClose(ddim.step(eps, 49, x), expected(1, 0), 1e-5);
    expect(ddim.scaleModelInput(x, 0)).toEqual(x);
    // diffusers steps back by T // n whatever the spacing: trailing 3 steps are 999, 666, 332,
    // yet the step from 666 aims at 666 - 333 = 333.
    const trailing = createScheduler('ddim', sd({ timestep_spacing: 'trailing' }), 3);
    expect(trailing.timesteps).toEqual([999, 666, 332]);
    expectClose(trailing.step(eps, 1, x), expected(666, 333), 1e-5);
  });

  it('DDIM clips the predicted x0 when clip_sample is on', () => {
    const ddim = createScheduler('ddim', sd({ timestep_spacing: 'leading', clip_sample: true }), 50);
    const t = 981;
    const expected = Array.from(x, (xi, i) => {
      const x0 = Math.max(-1, Math.min(1, (xi - Math.sqrt(1 - ABAR[t]) * eps[i]) / Math.sqrt(ABAR[t])));
      return Math.sqrt(ABAR[961]) * x0 + Math.sqrt(1 - ABAR[961]) * eps[i];
    });
    expectClose(ddim.step(eps, 0, x), expected, 1e-5);
  });

  it('Euler: x_prev = x + eps (sigma_next - sigma)', () => {
    const euler = createScheduler('euler', sd({ timestep_spacing: 'trailing' }), 4);
    const expected = Array.from(x, (xi, i) => xi + eps[i] * (sigmaAt(749) - sigmaAt(999)));
    expectClose(euler.step(eps, 0, x), expected, 1e-5);
    // The last step lands on sigma 0: x - sigma * eps, the predicted x0.
    expectClose(
      euler.step(eps, 3, x),
      Array.from(x, (xi, i) => xi - sigmaAt(249) * eps[i]),
      1e-5,
    );
  });

  it('Euler ancestral splits sigma_next into a deterministic and a noise part', () => {
    const ancestral = createScheduler('euler_ancestral', sd({ timestep_spacing: 'trailing' }), 4);
    const [s, n] = [sigmaAt(999), sigmaAt(749)];
    const up = Math.sqrt((n * n * (s * s - n * n)) / (s * s));
    const down = Math.sqrt(n * n - up * up);
    const noise = [0.3, -1, 0.5];
    let k = 0;
    const stepped = ancestral.step(eps, 0, x, () => noise[k++]);
    expectClose(
      stepped,
      Array.from(x, (xi, i) => xi + eps[i] * (down - s) + noise[i] * up),
      1e-5,
    );
    expect(() => ancestral.step(eps, 0, x)).toThrow(/rng/);
  });

  it('converts v-prediction to the same step as the equivalent epsilon', () => {
    // For x_t = sqrt(abar) x0 + sqrt(1 - abar) eps, the v target is sqrt(abar) eps - sqrt(1 - abar) x0.
    const x0 = [0.3, -0.8, 0.1];
    const noise = [1.2, -0.4, 0.7];
    for (const name of ['ddim', 'euler'] as const) {
      const config = { timestep_spacing: 'trailing' };
      const byEps = createScheduler(name, sd(config), 4);
      const byV = createScheduler(name, sd({ ...config, prediction_type: 'v_prediction' }), 4);
      const t = 749;
      const a = ABAR[t];
      const xt = x0.map((v, i) => Math.sqrt(a) * v + Math.sqrt(1 - a) * noise[i]);
      // Euler works on x = x_t * sqrt(sigma^2 + 1) and feeds the model x_t.
      const sample = Float32Array.from(name === 'euler' ? xt.map((v) => v * Math.sqrt(sigmaAt(t) ** 2 + 1)) : xt);
      const v = Float32Array.from(noise.map((e, i) => Math.sqrt(a) * e - Math.sqrt(1 - a) * x0[i]));
      expectClose(byV.step(v, 1, sample), byEps.step(Float32Array.from(noise), 1, sample), 1e-5);
    }
  });

  it('LCM: boundary-condition scalings at timestep * 10, noise only between steps', () => {
    const lcm = createScheduler('lcm', sd(), 4); // 999, 759, 499, 259
    const t = 759;
    const scaled = t * 10;
    const cSkip = 0.25 / (scaled * scaled + 0.25);
    const cOut = scaled / Math.sqrt(scaled * scaled + 0.25);
    const predicted = (xi: number, i: number) => (xi - Math.sqrt(1 - ABAR[t]) * eps[i]) / Math.sqrt(ABAR[t]);
    const denoised = Array.from(x, (xi, i) => cOut * predicted(xi, i) + cSkip * xi);
    const noise = [0.5, 0.5, -0.5];
    let k = 0;
    const renoised = denoised.map((d, i) => Math.sqrt(ABAR[499]) * d + Math.sqrt(1 - ABAR[499]) * noise[i]);
    expectClose(
      lcm.step(eps, 1, x, () => noise[k++]),
      renoised,
      1e-5,
    );
    // A small timestep_scaling makes c_skip visible: at t = 759 * 0.001 it is about 0.3.
    const slow = createScheduler('lcm', sd({ timestep_scaling: 0.001 }), 4);
    const s2 = t * 0.001;
    const [skip2, out2] = [0.25 / (s2 * s2 + 0.25), s2 / Math.sqrt(s2 * s2 + 0.25)];
    const x0 = Array.from(x, predicted);
    k = 0;
    expectClose(
      slow.step(eps, 1, x, () => noise[k++]),
      x0.map((v, i) => Math.sqrt(ABAR[499]) * (out2 * v + skip2 * x[i]) + Math.sqrt(1 - ABAR[499]) * noise[i]),
      1e-5,
    );
    const tLast = 259;
    const last = lcm.step(eps, 3, x); // no rng needed on the last step
    expect(last[0]).toBeCloseTo((x[0] - Math.sqrt(1 - ABAR[tLast]) * eps[0]) / Math.sqrt(ABAR[tLast]), 4);
  });
});

describe('full runs with an exact denoiser end at x0', () => {
  const size = 64;
  const x0 = normalArray(createNormalRng(1), size).map((v) => Math.tanh(v));

  /** The perfect model for data x0: eps (or v) of its input x_t at integer timestep t. */
  function exactModel(kind: 'epsilon' | 'v_prediction', input: Float32Array, t: number): Float32Array {
    const a = ABAR[t];
    return input.map((xt, i) => {
      const eps = (xt - Math.sqrt(a) * x0[i]) / Math.sqrt(1 - a);
      return kind === 'epsilon' ? eps : Math.sqrt(a) * eps - Math.sqrt(1 - a) * x0[i];
    });
  }

  function run(scheduler: Scheduler, kind: 'epsilon' | 'v_prediction', seed: number): Float32Array {
    const rng = createNormalRng(seed);
    let sample: Float32Array = normalArray(rng, size).map((v) => v * scheduler.initNoiseSigma);
    scheduler.timesteps.forEach((t, i) => {
      const output = exactModel(kind, scheduler.scaleModelInput(sample, i), t);
      sample = scheduler.step(output, i, sample, rng);
    });
    return sample;
  }

  const cases: Array<[SchedulerName, number, Record<string, unknown>, number]> = [
    ['ddim', 20, { timestep_spacing: 'leading', set_alpha_to_one: true }, 1e-4],
    ['ddim', 4, { timestep_spacing: 'trailing', set_alpha_to_one: true }, 1e-4],
    ['euler', 20, { timestep_spacing: 'leading' }, 1e-4],
    ['euler', 4, { timestep_spacing: 'trailing' }, 1e-4],
    ['euler_ancestral', 20, { timestep_spacing: 'leading' }, 1e-3],
    ['lcm', 4, {}, 1e-3],
    ['lcm', 1, {}, 1e-3],
  ];
  for (const kind of ['epsilon', 'v_prediction'] as const) {
    it.each(cases)(`${kind}: %s, %i steps`, (name, steps, extra, tolerance) => {
      const scheduler = createScheduler(name, sd({ ...extra, prediction_type: kind }), steps);
      expectClose(run(scheduler, kind, 7), x0, tolerance);
    });
  }

  it('DDIM with set_alpha_to_one false stops one sqrt(1 - abar_0) noise short of x0', () => {
    const final = run(createScheduler('ddim', sd({ timestep_spacing: 'leading' }), 20), 'epsilon', 7);
    const error = Math.max(...final.map((v, i) => Math.abs(v - x0[i])));
    expect(error).toBeGreaterThan(1e-3);
    expect(error).toBeLessThan(5 * Math.sqrt(1 - ABAR[0]));
  });
});

describe('img2img', () => {
  it('starts after the steps that strength skips (diffusers get_timesteps)', () => {
    const timesteps = range(1, 981, 20).reverse();
    expect(img2imgStart(timesteps, 1)).toMatchObject({ startIndex: 0, latentTimestep: 981 });
    const partial = img2imgStart(timesteps, 0.75); // init = floor(37.5) = 37, start = 13
    expect(partial.startIndex).toBe(13);
    expect(partial.timesteps).toHaveLength(37);
    expect(partial.latentTimestep).toBe(timesteps[13]);
    expect(img2imgStart(range(0, 9, 1), 0.3).startIndex).toBe(7); // 10 * 0.3 = 3.0000000000000004
    expect(() => img2imgStart(timesteps, 0.01)).toThrow(/no step/);
    expect(() => img2imgStart(timesteps, 0)).toThrow(/strength/);
  });

  it('adds noise as sqrt(abar) x0 + sqrt(1 - abar) n, and x0 + sigma n in Euler scale', () => {
    const original = Float32Array.of(0.5, -1);
    const noise = Float32Array.of(1, 2);
    const t = 501;
    const vp = [0, 1].map((i) => Math.sqrt(ABAR[t]) * original[i] + Math.sqrt(1 - ABAR[t]) * noise[i]);
    expectClose(createScheduler('ddim', sd(), 50).addNoise(original, noise, t), vp, 1e-6);
    expectClose(createScheduler('lcm', sd(), 4).addNoise(original, noise, t), vp, 1e-6);
    const ve = createScheduler('euler', sd({ timestep_spacing: 'leading' }), 50).addNoise(original, noise, t);
    expectClose(
      ve,
      [0, 1].map((i) => original[i] + sigmaAt(t) * noise[i]),
      1e-5,
    );
    // The two scales differ by sqrt(sigma^2 + 1) = 1 / sqrt(abar).
    expectClose(
      Array.from(ve, (v) => v * Math.sqrt(ABAR[t])),
      vp,
      1e-6,
    );
  });
});

describe('scheduler config', () => {
  it('accepts the SD v1-4 scheduler_config.json (a PNDM config)', () => {
    if (!existsSync(SD_CONFIG_FILE)) throw new Error(`missing ${SD_CONFIG_FILE} (the shared/ folder beside the repo)`);
    const config = parseSchedulerConfig(JSON.parse(readFileSync(SD_CONFIG_FILE, 'utf8')));
    expect(config).toMatchObject({ beta_schedule: 'scaled_linear', steps_offset: 1, set_alpha_to_one: false });
    expect(createScheduler('ddim', config, 50).timesteps[0]).toBe(981); // DDIM's default spacing: leading
    expect(createScheduler('euler', config, 50).timesteps[0]).toBe(999); // Euler's default: linspace
  });

  it('rejects options it does not implement, naming them', () => {
    expect(() => parseSchedulerConfig({ thresholding: true })).toThrow(/thresholding/);
    expect(() => parseSchedulerConfig({ use_karras_sigmas: true })).toThrow(/use_karras_sigmas/);
    expect(() => parseSchedulerConfig({ prediction_type: 'sample' })).toThrow(/prediction_type/);
    expect(() => parseSchedulerConfig({ beta_schedule: 'squaredcos_cap_v2' })).toThrow(/beta_schedule/);
    expect(() => createScheduler('ddim', sd(), 0)).toThrow(/inference steps/);
  });
});

describe('normal rng', () => {
  it('is reproducible per seed and roughly standard normal', () => {
    const a = normalArray(createNormalRng(42), 20_000);
    expect(normalArray(createNormalRng(42), 20_000)).toEqual(a);
    expect(normalArray(createNormalRng(43), 4)).not.toEqual(a.slice(0, 4));
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(variance - 1)).toBeLessThan(0.05);
  });
});
