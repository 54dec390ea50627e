/**
 * A generated vocabulary with CLIP's conventions, so any CLIP tokenizer reads it unchanged: 256
 * byte-level base symbols, the same 256 with the end-of-word mark, one token per merge in merge
 * order, then <|startoftext|> and <|endoftext|> as the last two ids.
 */

export const BOS_TOKEN = '<|startoftext|>';
export const EOS_TOKEN = '<|endoftext|>';
const END_OF_WORD = '</w>';

/** A learned CLIP-style vocabulary: token -> id, and merges in rank order. */
export interface ClipVocabulary {
  vocab: Map<string, number>;
  merges: ReadonlyArray<readonly [string, string]>;
  bosId: number;
  eosId: number;
}

const PRINTABLE_BYTES = [
  [0x21, 0x7e],
  [0xa1, 0xac],
  [0xae, 0xff],
];
const isPrintable = (b: number): boolean => PRINTABLE_BYTES.some(([from, to]) => b >= from && b <= to);

/** GPT-2/CLIP `bytes_to_unicode`: printable bytes stand for themselves, the rest map to U+0100 on. */
export function byteSymbols(): string[] {
  let shifted = 0;
  return [...Array(256).keys()].map((b) => String.fromCharCode(isPrintable(b) ? b : 256 + shifted++));
}

/** The 256 base symbols in CLIP's id order: printable bytes first, then the shifted ones. */
export function byteLevelAlphabet(): string[] {
  const symbols = byteSymbols();
  const bytes = [...Array(256).keys()];
  return [...bytes.filter(isPrintable), ...bytes.filter((b) => !isPrintable(b))].map((b) => symbols[b]);
}

/** Classic BPE training: merge the most frequent adjacent pair until every word is one symbol. */
export function learnBpeMerges(words: readonly string[]): Array<[string, string]> {
  const symbols = byteSymbols();
  const known = new Set<string>(byteLevelAlphabet().flatMap((c) => [c, c + END_OF_WORD]));
  const corpus = words.map((word, index) => {
    const pieces = [...Buffer.from(word, 'utf8')].map((b) => symbols[b]);
    pieces[pieces.length - 1] += END_OF_WORD;
    // Earlier (commoner) words weigh more, so their pieces are merged first, as in real corpora.
    return { pieces, weight: words.length - index };
  });

  const merges: Array<[string, string]> = [];
  for (;;) {
    const counts = new Map<string, number>();
    for (const { pieces, weight } of corpus) {
      for (let i = 0; i + 1 < pieces.length; i++) {
        const key = `${pieces[i]} ${pieces[i + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + weight);
      }
    }
    // A pair whose concatenation is already a token would give one string two ids; skip it.
    const candidates = [...counts.entries()].filter(([key]) => !known.has(key.replace(' ', '')));
    if (candidates.length === 0) return merges;
    candidates.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const [left, right] = candidates[0][0].split(' ') as [string, string];
    merges.push([left, right]);
    known.add(left + right);
    for (const entry of corpus) entry.pieces = applyMerge(entry.pieces, left, right);
  }
}

function applyMerge(pieces: string[], left: string, right: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < pieces.length; i++) {
    if (pieces[i] === left && pieces[i + 1] === right) {
      out.push(left + right);
      i++;
    } else {
      out.push(pieces[i]);
    }
  }
  return out;
}

/** Builds the full vocabulary (base symbols, merges, special tokens) from training words. */
export function buildClipVocabulary(words: readonly string[]): ClipVocabulary {
  const alphabet = byteLevelAlphabet();
  const merges = learnBpeMerges(words);
  const tokens = [
    ...alphabet,
    ...alphabet.map((c) => c + END_OF_WORD),
    ...merges.map(([a, b]) => a + b),
    BOS_TOKEN,
    EOS_TOKEN,
  ];
  const vocab = new Map(tokens.map((token, id) => [token, id]));
  if (vocab.size !== tokens.length) throw new Error('generated vocabulary has duplicate tokens');
  return { vocab, merges, bosId: tokens.length - 2, eosId: tokens.length - 1 };
}

/** vocab.json as Hugging Face writes it: keys sorted by code point, two-space indent. */
export function vocabJson(vocab: ReadonlyMap<string, number>): string {
  // Written by hand because JSON.stringify would move integer-like keys ("0", "12") to the front.
  const keys = [...vocab.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{\n${keys.map((k) => `  ${JSON.stringify(k)}: ${vocab.get(k)}`).join(',\n')}\n}\n`;
}

/** merges.txt: the BPE version header, then one "left right" pair per line in rank order. */
export function mergesTxt(merges: ReadonlyArray<readonly [string, string]>): string {
  return `#version: 0.2\n${merges.map(([a, b]) => `${a} ${b}`).join('\n')}\n`;
}
