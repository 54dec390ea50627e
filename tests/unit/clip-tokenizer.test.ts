import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { bpeWord, fromByteSymbols, parseMerges, toByteSymbols } from '../../workers/diffusion/byte-level-bpe';
import { cleanClipText, loadClipTokenizer, type ClipTokenizer } from '../../workers/diffusion/clip-tokenizer';

// The real Stable Diffusion v1-4 tokenizer files, kept in the shared folder beside the repo.
const TOKENIZER_DIR = path.resolve(__dirname, '../../../shared/models/clip-tokenizer-sd-v1-4');
const BOS = 49406;
const EOS = 49407;

let tokenizer: ClipTokenizer;
let vocab: Record<string, number>;
let tokenOf: Map<number, string>;

/** Looks a token up in vocab.json directly, failing loudly when it is not there. */
function id(token: string): number {
  const value = vocab[token];
  if (value === undefined) throw new Error(`${JSON.stringify(token)} is not in vocab.json`);
  return value;
}

beforeAll(async () => {
  if (!existsSync(path.join(TOKENIZER_DIR, 'vocab.json'))) {
    throw new Error(
      `CLIP tokenizer files missing: expected vocab.json and merges.txt in ${TOKENIZER_DIR}` +
        ' (the shared/ folder beside the repo)',
    );
  }
  vocab = JSON.parse(readFileSync(path.join(TOKENIZER_DIR, 'vocab.json'), 'utf8'));
  tokenOf = new Map(Object.entries(vocab).map(([token, value]) => [value, token]));
  tokenizer = await loadClipTokenizer(TOKENIZER_DIR);
});

describe('CLIP tokenizer on the SD v1-4 files', () => {
  it('reads special tokens and the length from the config files', () => {
    expect(id('<|startoftext|>')).toBe(BOS);
    expect(id('<|endoftext|>')).toBe(EOS);
    expect(tokenizer).toMatchObject({ maxLength: 77, bosTokenId: BOS, eosTokenId: EOS, padTokenId: EOS });
  });

  it('encodes "a photo of a cat" word by word', () => {
    const expected = [BOS, id('a</w>'), id('photo</w>'), id('of</w>'), id('a</w>'), id('cat</w>'), EOS];
    expect(expected).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    expect(tokenizer.encode('a photo of a cat')).toEqual(expected);
  });

  it('lower-cases and collapses whitespace', () => {
    const reference = tokenizer.encode('a photo of a cat');
    expect(tokenizer.encode('A PHOTO Of a CaT')).toEqual(reference);
    expect(tokenizer.encode('  a\tphoto\n\nof  a cat  ')).toEqual(reference);
    expect(cleanClipText('  Hello\t\tWORLD \n')).toBe('hello world');
  });

  it('splits punctuation from words', () => {
    expect(tokenizer.encode('hello, world!')).toEqual([
      BOS,
      id('hello</w>'),
      id(',</w>'),
      id('world</w>'),
      id('!</w>'),
      EOS,
    ]);
    // A run of punctuation is one pre-token, here itself a vocabulary entry.
    expect(tokenizer.encode('wow!!!')).toEqual([BOS, id('wow</w>'), id('!!!</w>'), EOS]);
    expect(tokenizer.encode("it's")).toEqual([BOS, id('it</w>'), id("'s</w>"), EOS]);
  });

  it('splits a word missing from the vocabulary into BPE pieces that spell it', () => {
    const word = 'supercalifragilisticexpialidocious';
    expect(vocab[`${word}</w>`]).toBeUndefined();
    const ids = tokenizer.encode(word).slice(1, -1);
    const pieces = ids.map((value) => tokenOf.get(value));
    expect(pieces.every((piece) => piece !== undefined)).toBe(true);
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.slice(0, -1).some((piece) => piece!.endsWith('</w>'))).toBe(false);
    expect(pieces.at(-1)!.endsWith('</w>')).toBe(true);
    expect(pieces.join('')).toBe(`${word}</w>`);
    // Pieces as Hugging Face transformers' CLIPTokenizer gives them for this word.
    expect(pieces).toEqual(['super', 'cali', 'frag', 'ili', 'stic', 'expi', 'ali', 'do', 'cious</w>']);
  });

  it('encodes non-ASCII text through its UTF-8 bytes', () => {
    // é is C3 A9 in UTF-8; both bytes are printable Latin-1, so they appear as "Ã" and "©".
    expect(tokenizer.encode('café')).toEqual([BOS, id('cafÃ©</w>'), EOS]);
    expect(tokenizer.encode('CAFÉ')).toEqual(tokenizer.encode('café'));
    // 🙂 is F0 9F 99 82: F0 is "ð"; 9F, 99, 82 are unprintable, moved to U+0100 + their rank among
    // unprintable bytes (33 + byte - 0x7F): U+0141 "Ł", U+013B "Ļ", U+0124 "Ĥ".
    expect(tokenizer.encode('a cat 🙂')).toEqual([BOS, id('a</w>'), id('cat</w>'), id('ðŁĻĤ</w>'), EOS]);
  });

  it('gives every digit its own token', () => {
    const digit = (d: string) => id(`${d}</w>`);
    expect(tokenizer.encode('2024')).toEqual([BOS, digit('2'), digit('0'), digit('2'), digit('4'), EOS]);
    expect(tokenizer.encode('1,5')).toEqual([BOS, digit('1'), id(',</w>'), digit('5'), EOS]);
  });

  it('truncates a long prompt to 77 ids ending with eos', () => {
    const phrase = [id('a</w>'), id('photo</w>'), id('of</w>'), id('a</w>'), id('cat</w>')];
    const prompt = Array.from({ length: 40 }, () => 'a photo of a cat').join(' '); // 200 words
    const ids = tokenizer.encode(prompt);
    expect(ids).toHaveLength(77);
    expect(ids[0]).toBe(BOS);
    expect(ids[76]).toBe(EOS);
    expect(ids.slice(1, 76)).toEqual(Array.from({ length: 15 }, () => phrase).flat());
  });

  it('pads to 77 with the pad token', () => {
    const padded = tokenizer.encodePadded('a photo of a cat');
    expect(padded).toBeInstanceOf(Int32Array);
    expect(padded).toHaveLength(77);
    expect(Array.from(padded.slice(0, 7))).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    expect(Array.from(padded.slice(7)).every((value) => value === EOS)).toBe(true);
    expect(Array.from(tokenizer.encodePadded(''))).toEqual([BOS, ...Array.from({ length: 76 }, () => EOS)]);
  });
});

describe('byte-level BPE', () => {
  it('applies the lowest-ranked merge first and marks the word end', () => {
    const ranks = parseMerges('#version: 0.2\nl o\nlo w</w>\nh e\nhe l\n');
    expect(bpeWord('low', ranks)).toEqual(['low</w>']);
    expect(bpeWord('hello', ranks)).toEqual(['hel', 'l', 'o</w>']);
    expect(bpeWord('x', ranks)).toEqual(['x</w>']);
  });

  it('maps every byte to one printable symbol and back', () => {
    const text = 'naïve 🙂 \u0000\u00ad';
    const symbols = toByteSymbols(text);
    expect(symbols).toHaveLength(Buffer.byteLength(text, 'utf8'));
    expect(/\s/.test(symbols)).toBe(false);
    expect(fromByteSymbols(symbols)).toBe(text);
  });
});
