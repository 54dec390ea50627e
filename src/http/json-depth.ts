/**
 * Nesting depth of JSON text as it streams in, chunk by chunk, in one linear pass and without
 * recursion: JSON.parse recurses per level and holds the event loop for as long as it takes, so a
 * body of 16 million `[` has to be refused before it gets there.
 *
 * Works on UTF-8 bytes: the structural characters (`[ ] { } " \`) are ASCII, and no byte of a
 * multi-byte UTF-8 sequence is below 0x80, so none can be mistaken for one. Brackets inside
 * strings do not count. Malformed text is left for JSON.parse to report.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

export interface JsonDepthGauge {
  /** Reads the next chunk; false as soon as the text nests deeper than the maximum. */
  push(chunk: Uint8Array): boolean;
}

export function createJsonDepthGauge(maxDepth: number): JsonDepthGauge {
  let depth = 0;
  let inString = false;
  let escaped = false;
  return {
    push(chunk) {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i];
        if (inString) {
          if (escaped) escaped = false;
          else if (c === BACKSLASH) escaped = true;
          else if (c === QUOTE) inString = false;
        } else if (c === QUOTE) {
          inString = true;
        } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
          if (++depth > maxDepth) return false;
        } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
          depth--;
        }
      }
      return true;
    },
  };
}
