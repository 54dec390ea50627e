import { hashedBagOfWords, promptWords } from '../../workers/generation/prompt-embedding';

const DIM = 32;

function distance(a: Float32Array, b: Float32Array): number {
  return Math.hypot(...Array.from(a, (v, i) => v - b[i]));
}

describe('hashedBagOfWords', () => {
  it('is deterministic', () => {
    expect(hashedBagOfWords('a red fox at dusk', DIM)).toEqual(hashedBagOfWords('a red fox at dusk', DIM));
  });

  it('returns dim values', () => {
    expect(hashedBagOfWords('fox', 7)).toHaveLength(7);
    expect(hashedBagOfWords('fox', 32)).toHaveLength(32);
  });

  it('gives different prompts clearly different vectors', () => {
    const fox = hashedBagOfWords('a red fox', DIM);
    const sea = hashedBagOfWords('the open sea', DIM);
    // Two independent N(0, I) vectors in 32 dimensions sit about 8 apart.
    expect(distance(fox, sea)).toBeGreaterThan(3);
  });

  it('gives zeros for an empty or punctuation-only prompt', () => {
    expect(Array.from(hashedBagOfWords('', DIM))).toEqual(new Array(DIM).fill(0));
    expect(Array.from(hashedBagOfWords(' ...!? ', DIM))).toEqual(new Array(DIM).fill(0));
  });

  it('ignores case, punctuation and spacing', () => {
    const plain = hashedBagOfWords('a red fox', DIM);
    expect(hashedBagOfWords('A RED, fox!', DIM)).toEqual(plain);
    expect(hashedBagOfWords('  a\tred...fox\n', DIM)).toEqual(plain);
  });

  it('ignores word order (a bag of words)', () => {
    // Summation order may move the last bit, nothing more.
    expect(distance(hashedBagOfWords('fox red a', DIM), hashedBagOfWords('a red fox', DIM))).toBeLessThan(1e-5);
  });

  it('keeps components near unit variance however long the prompt', () => {
    const words = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
    const values = hashedBagOfWords(words, 1024);
    const variance = values.reduce((sum, v) => sum + v * v, 0) / values.length;
    expect(variance).toBeGreaterThan(0.8);
    expect(variance).toBeLessThan(1.2);
  });

  it('splits on unicode letters and digits, not ASCII only', () => {
    expect(promptWords('Café crème, 2 Öl-Gemälde; 東京')).toEqual(['café', 'crème', '2', 'öl', 'gemälde', '東京']);
    // Composed and decomposed accents are the same word.
    expect(hashedBagOfWords('cafe\u0301', DIM)).toEqual(hashedBagOfWords('caf\u00e9', DIM));
  });

  it('rejects a dimension that is not a positive integer', () => {
    expect(() => hashedBagOfWords('fox', 0)).toThrow(RangeError);
    expect(() => hashedBagOfWords('fox', 2.5)).toThrow(RangeError);
  });
});
