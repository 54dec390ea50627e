/**
 * A small seeded standard-normal generator, so that a job's seed reproduces its image: xoshiro128**
 * for uniform 32-bit words (seeded through splitmix32), Box-Muller for the normal pairs.
 * It is not torch's generator: the same seed gives other numbers than diffusers.
 */

/** splitmix32: spreads a seed over the 128-bit xoshiro state so that nearby seeds diverge. */
function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function xoshiro128ss(seed: number): () => number {
  // Seeds up to 2^53 are allowed: fold the high word into the low one before mixing.
  const high = Math.floor(seed / 0x1_0000_0000) >>> 0;
  const mix = splitmix32((seed >>> 0) ^ Math.imul(high, 0x27d4eb2d));
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  return () => {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Standard normal draws from an integer seed in 0..2^53-1; the same seed gives the same sequence. */
export function createNormalRng(seed: number): () => number {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
  }
  const next = xoshiro128ss(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    // u1 in (0, 1] keeps log() finite; u2 in [0, 1).
    const u1 = (next() + 1) / 0x1_0000_0000;
    const u2 = next() / 0x1_0000_0000;
    const radius = Math.sqrt(-2 * Math.log(u1));
    spare = radius * Math.sin(2 * Math.PI * u2);
    return radius * Math.cos(2 * Math.PI * u2);
  };
}

/** `length` standard normal values, e.g. the initial latent noise before `initNoiseSigma`. */
export function normalArray(rng: () => number, length: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = rng();
  return out;
}
