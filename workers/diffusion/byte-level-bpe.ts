/**
 * Byte-level BPE as in GPT-2 / OpenAI CLIP: every UTF-8 byte is shown as one printable character,
 * then pairs of symbols are merged by rank. CLIP marks the last symbol of a word with `</w>`.
 */

export const END_OF_WORD = '</w>';

/**
 * GPT-2's `bytes_to_unicode`: printable Latin-1 bytes stand for themselves, the other 68 bytes are
 * moved to U+0100.. so that no symbol is whitespace or a control character.
 */
function buildByteToChar(): string[] {
  const printable: number[] = [];
  const ranges: Array<[number, number]> = [
    [0x21, 0x7e], // '!'..'~'
    [0xa1, 0xac], // '¡'..'¬'
    [0xae, 0xff], // '®'..'ÿ'
  ];
  for (const [from, to] of ranges) for (let b = from; b <= to; b++) printable.push(b);
  const table: string[] = new Array<string>(256);
  for (const b of printable) table[b] = String.fromCharCode(b);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCharCode(256 + next++);
  }
  return table;
}

const BYTE_TO_CHAR = buildByteToChar();
const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((char, byte) => [char, byte]));

/** The byte-level spelling of a string: one symbol per UTF-8 byte. */
export function toByteSymbols(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += BYTE_TO_CHAR[byte];
  return out;
}

/** Inverse of `toByteSymbols` (for decoding and tests); `</w>` becomes a space. */
export function fromByteSymbols(symbols: string): string {
  const words = symbols.split(END_OF_WORD);
  const bytes: number[] = [];
  words.forEach((word, i) => {
    for (const char of word) {
      const byte = CHAR_TO_BYTE.get(char);
      if (byte === undefined) throw new Error(`not a byte-level symbol: ${JSON.stringify(char)}`);
      bytes.push(byte);
    }
    if (i < words.length - 1) bytes.push(0x20);
  });
  return Buffer.from(bytes).toString('utf8');
}

/** Merge ranks keyed by `"left right"`; a lower rank merges first. */
export type MergeRanks = ReadonlyMap<string, number>;

/** Parses merges.txt: an optional `#version` header, then one `left right` pair per line. */
export function parseMerges(text: string): Map<string, number> {
  const ranks = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#version')) continue;
    const parts = line.split(' ');
    if (parts.length !== 2) throw new Error(`merges.txt: bad line ${JSON.stringify(line)}`);
    ranks.set(line, ranks.size);
  }
  return ranks;
}

/**
 * Splits one word (already in byte symbols) into BPE pieces, the last carrying `</w>`. Merges
 * the lowest-ranked adjacent pair everywhere it occurs, until no ranked pair is left.
 */
export function bpeWord(word: string, ranks: MergeRanks): string[] {
  if (word.length === 0) return [];
  let symbols = [...word];
  symbols[symbols.length - 1] += END_OF_WORD;
  while (symbols.length > 1) {
    let best: string | undefined;
    let bestRank = Infinity;
    for (let i = 0; i < symbols.length - 1; i++) {
      const rank = ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = `${symbols[i]} ${symbols[i + 1]}`;
      }
    }
    if (best === undefined) break;
    const [left, right] = best.split(' ');
    const merged: string[] = [];
    for (let i = 0; i < symbols.length; i++) {
      if (i < symbols.length - 1 && symbols[i] === left && symbols[i + 1] === right) {
        merged.push(left + right);
        i++;
      } else {
        merged.push(symbols[i]);
      }
    }
    symbols = merged;
  }
  return symbols;
}
