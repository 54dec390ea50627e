import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { bpeWord, parseMerges, toByteSymbols, type MergeRanks } from './byte-level-bpe';

/**
 * The CLIP text tokenizer (OpenAI `simple_tokenizer`, Hugging Face `CLIPTokenizer`) read from a
 * Hugging Face tokenizer folder holding vocab.json and merges.txt (no tokenizer.json needed).
 */
export interface ClipTokenizer {
  /** Length of every encoded prompt the text encoder takes (77 for CLIP). */
  readonly maxLength: number;
  readonly bosTokenId: number;
  readonly eosTokenId: number;
  readonly padTokenId: number;
  /** bos + tokens + eos, truncated to `maxLength`, not padded. */
  encode(text: string): number[];
  /** `encode`, padded with the pad token to exactly `maxLength`. */
  encodePadded(text: string): Int32Array;
}

// Used only when the config files do not say; they are the values of CLIP ViT-L/14.
const FALLBACK = { bos: 49406, eos: 49407, pad: 49407, maxLength: 77 };
// Hugging Face writes int(1e30) as model_max_length when "no limit" is meant.
const MAX_SENSIBLE_LENGTH = 1_000_000;
// A worker lives long and sees arbitrary prompts: bound the word cache instead of letting it grow.
const CACHE_LIMIT = 20_000;

const SPECIAL_TOKENS = ['<|startoftext|>', '<|endoftext|>'];
// openai/CLIP's pattern; the text is lower-cased before, so case-insensitivity changes nothing.
const WORD_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;
// C0 controls, DEL and BOM (tab, newlines and form feed are whitespace and collapse below).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000e-\u001f\u007f\ufeff]/g;

const tokenSchema = z.union([z.string(), z.object({ content: z.string() })]);
const configSchema = z.object({
  model_max_length: z.number().optional(),
  bos_token: tokenSchema.optional(),
  eos_token: tokenSchema.optional(),
  pad_token: tokenSchema.optional(),
});
/** The fields read from tokenizer_config.json and special_tokens_map.json. */
export type ClipTokenizerConfig = z.infer<typeof configSchema>;

/**
 * ftfy-less clean-up as Hugging Face's fast CLIP tokenizer does it (NFC, whitespace collapsed,
 * trimmed, lower-cased); control characters are dropped as ftfy would.
 */
export function cleanClipText(text: string): string {
  return text.normalize('NFC').replace(CONTROL_CHARS, '').replace(/\s+/gu, ' ').trim().toLowerCase();
}

/** Loads vocab.json, merges.txt and (when present) tokenizer_config.json / special_tokens_map.json. */
export async function loadClipTokenizer(dir: string): Promise<ClipTokenizer> {
  const [vocabText, mergesText, tokenizerConfig, specialTokensMap] = await Promise.all([
    readFile(path.join(dir, 'vocab.json'), 'utf8'),
    readFile(path.join(dir, 'merges.txt'), 'utf8'),
    readOptionalConfig(path.join(dir, 'tokenizer_config.json')),
    readOptionalConfig(path.join(dir, 'special_tokens_map.json')),
  ]);
  const vocabJson = z.record(z.string(), z.number().int()).parse(JSON.parse(vocabText));
  // special_tokens_map.json wins over tokenizer_config.json, as in transformers.
  const config: ClipTokenizerConfig = {
    model_max_length: tokenizerConfig.model_max_length,
    bos_token: specialTokensMap.bos_token ?? tokenizerConfig.bos_token,
    eos_token: specialTokensMap.eos_token ?? tokenizerConfig.eos_token,
    pad_token: specialTokensMap.pad_token ?? tokenizerConfig.pad_token,
  };
  return createClipTokenizer(new Map(Object.entries(vocabJson)), parseMerges(mergesText), config);
}

async function readOptionalConfig(file: string): Promise<ClipTokenizerConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  const parsed = configSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${file}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Builds a tokenizer from an already parsed vocabulary and merge table. */
export function createClipTokenizer(
  vocab: ReadonlyMap<string, number>,
  ranks: MergeRanks,
  config: ClipTokenizerConfig = {},
): ClipTokenizer {
  const idOf = (token: z.infer<typeof tokenSchema> | undefined, fallback: number): number => {
    if (token === undefined) return fallback;
    const content = typeof token === 'string' ? token : token.content;
    const id = vocab.get(content);
    if (id === undefined) throw new Error(`special token ${JSON.stringify(content)} is not in vocab.json`);
    return id;
  };
  const bosTokenId = idOf(config.bos_token, FALLBACK.bos);
  const eosTokenId = idOf(config.eos_token, FALLBACK.eos);
  const padTokenId = idOf(config.pad_token, FALLBACK.pad);
  const declared = config.model_max_length;
  const maxLength =
    declared !== undefined && Number.isInteger(declared) && declared >= 2 && declared < MAX_SENSIBLE_LENGTH
      ? declared
      : FALLBACK.maxLength;
  // Every byte has a vocabulary entry, so a missing piece means a broken vocab; CLIP's unk is eos.
  const unkTokenId = eosTokenId;
  const cache = new Map<string, number[]>();

  const wordIds = (word: string): number[] => {
    const cached = cache.get(word);
    if (cached) return cached;
    const ids = SPECIAL_TOKENS.includes(word)
      ? [vocab.get(word) ?? unkTokenId]
      : bpeWord(toByteSymbols(word), ranks).map((piece) => vocab.get(piece) ?? unkTokenId);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(word, ids);
    return ids;
  };

  const encode = (text: string): number[] => {
    const ids: number[] = [bosTokenId];
    const room = maxLength - 1;
    for (const match of cleanClipText(text).matchAll(WORD_PATTERN)) {
      for (const id of wordIds(match[0])) {
        if (ids.length === room) return [...ids, eosTokenId];
        ids.push(id);
      }
    }
    ids.push(eosTokenId);
    return ids;
  };

  const encodePadded = (text: string): Int32Array => {
    const padded = new Int32Array(maxLength).fill(padTokenId);
    padded.set(encode(text));
    return padded;
  };

  return { maxLength, bosTokenId, eosTokenId, padTokenId, encode, encodePadded };
}
