/**
 * The `hashed_bag_of_words` prompt encoding of the demo generators: a text prompt becomes a fixed
 * vector without a text encoder, so the same words always steer the image the same way.
 */

import { mulberry32 } from './seeded-random';

const encoder = new TextEncoder();

/** FNV-1a, 32 bit, over the UTF-8 bytes of `word`. */
function fnv1a32(word: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(word)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Adds `dim` standard-normal values (Box-Muller, both branches) drawn from `seed` into `out`. */
function addWordVector(out: Float64Array, seed: number): void {
  const uniform = mulberry32(seed);
  for (let i = 0; i < out.length; i += 2) {
    // 1 - u keeps log away from 0; mulberry32 never returns 1.
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    out[i] += radius * Math.cos(angle);
    if (i + 1 < out.length) out[i + 1] += radius * Math.sin(angle);
  }
}

/** Lower-cased words of `prompt`; NFKC first so composed and decomposed accents are one word. */
export function promptWords(prompt: string): string[] {
  return prompt
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{M}\p{N}]+/u)
    .filter((word) => word.length > 0);
}

/** Sum of one seeded normal vector per word, divided by sqrt(word count); zeros for no words. */
export function hashedBagOfWords(prompt: string, dim: number): Float32Array {
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be a positive integer, got ${dim}`);
  const words = promptWords(prompt);
  const sum = new Float64Array(dim);
  for (const word of words) addWordVector(sum, fnv1a32(word));
  // Dividing by sqrt(count) keeps each component ~N(0, 1) however long the prompt is.
  const norm = words.length > 0 ? 1 / Math.sqrt(words.length) : 0;
  return Float32Array.from(sum, (value) => value * norm);
}
