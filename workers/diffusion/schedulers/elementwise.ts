/** Samples are flat Float32Arrays of any shape; every scheduler formula is per element. */

/** A new Float32Array of `length` whose element i is `f(i)` (computed in float64). */
export function elementwise(length: number, f: (i: number) => number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = f(i);
  return out;
}

/** Throws when arrays that must pair up element by element differ in length. */
export function assertSameLength(what: string, ...arrays: ArrayLike<number>[]): void {
  const lengths = arrays.map((a) => a.length);
  if (lengths.some((n) => n !== lengths[0])) {
    throw new RangeError(`${what}: sample lengths differ (${lengths.join(' vs ')})`);
  }
}
