/** Deterministic random numbers from a 32-bit seed (mulberry32), so a seed always gives the same image. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box-Muller) from a uniform source. */
export function normalSampler(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = Math.max(uniform(), Number.MIN_VALUE);
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** `count` samples from N(0,1) or U(-1,1) for the given seed. */
export function sampleLatent(seed: number, count: number, distribution: 'normal' | 'uniform'): Float32Array {
  const uniform = mulberry32(seed);
  const draw = distribution === 'normal' ? normalSampler(uniform) : () => uniform() * 2 - 1;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = draw();
  return out;
}
