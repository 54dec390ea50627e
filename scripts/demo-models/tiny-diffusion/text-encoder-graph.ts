import { attr, createGraph } from '../onnx-graph';
import { gaussian, normalArray } from '../seeded-random';
import type { ClipVocabulary } from './clip-bpe-vocabulary';
import { COLOUR_WORDS } from './colour-words';
import { patchModel } from './onnx-model-patches';

/**
 * A one-block stand-in for CLIPTextModel: token + position embeddings, then a causal attention
 * whose keys depend only on the token (so it is two CumSums, not a 77x77 softmax), then a tanh
 * MLP. Like CLIP, every state after the last word summarises the whole prompt and pooler_output
 * is the state at the first <|endoftext|>.
 */

export const HIDDEN_SIZE = 32;
export const MAX_LENGTH = 77;
/** Hidden dimensions that carry the prompt's colour-word tint (R, G, B) untouched by the MLP. */
export const TINT_DIMS = [0, 1, 2] as const;
/** Hidden dimension that is 1 on word tokens and 0 on <|startoftext|>/<|endoftext|>: "there is a prompt". */
export const CONTENT_DIM = HIDDEN_SIZE - 1;

const SEED = 0x7e47_0001;
// Attention keys: special tokens are nearly ignored, so the summary is the words' alone (and
// exactly empty for ""); colour words weigh more, so "a red boat" is mostly red.
const SPECIAL_KEY = -8;
const COLOUR_KEY = 1;
const SPECIAL_SCALE = 0.1;
const POSITION_STD = 0.3;
const FLOAT = 1;

/** Serialized text encoder: input_ids int32 [batch, 77] -> last_hidden_state, pooler_output. */
export function buildTextEncoderModel(vocabulary: ClipVocabulary): Uint8Array {
  const next = gaussian(SEED);
  const size = vocabulary.vocab.size;
  const reserved = new Set<number>([...TINT_DIMS, CONTENT_DIM]);
  const free = [...Array(HIDDEN_SIZE).keys()].filter((d) => !reserved.has(d));

  const tokens = new Float32Array(size * HIDDEN_SIZE);
  const keys = new Float32Array(size);
  for (const [token, id] of vocabulary.vocab) {
    const row = tokens.subarray(id * HIDDEN_SIZE, (id + 1) * HIDDEN_SIZE);
    const special = id === vocabulary.bosId || id === vocabulary.eosId;
    // Small special-token vectors keep the padding from adding one big constant to every prompt.
    for (const d of free) row[d] = next() * (special ? SPECIAL_SCALE : 1);
    const tint = token.endsWith('</w>') ? COLOUR_WORDS.get(token.slice(0, -4)) : undefined;
    tint?.forEach((value, i) => (row[TINT_DIMS[i]] = value));
    row[CONTENT_DIM] = special ? 0 : 1;
    keys[id] = special ? SPECIAL_KEY : tint !== undefined ? COLOUR_KEY : 0;
  }
  const positions = new Float32Array(MAX_LENGTH * HIDDEN_SIZE);
  for (let p = 0; p < MAX_LENGTH; p++) for (const d of free) positions[p * HIDDEN_SIZE + d] = next() * POSITION_STD;
  // The MLP writes only free dimensions, so the tint and content flag reach the UNet unchanged.
  const mix = normalArray(next, HIDDEN_SIZE * HIDDEN_SIZE, 1.5 / Math.sqrt(HIDDEN_SIZE));
  for (let i = 0; i < HIDDEN_SIZE; i++) for (const d of reserved) mix[i * HIDDEN_SIZE + d] = 0;
  const mixBias = normalArray(next, HIDDEN_SIZE, 0.2);
  for (const d of reserved) mixBias[d] = 0;

  const g = createGraph('tiny_clip_text_encoder');
  const ids = g.input('input_ids', ['batch', MAX_LENGTH]);
  const embedded = g.node('Add', [
    g.node('Gather', [g.floats('token_embedding', [size, HIDDEN_SIZE], tokens), ids]),
    g.floats('position_embedding', [MAX_LENGTH, HIDDEN_SIZE], positions),
  ]);

  const weight = g.node('Unsqueeze', [
    g.node('Exp', [g.node('Gather', [g.floats('attention_key', [size], keys), ids])]),
    g.int64s('axes', [2]),
  ]);
  const axis = g.int64s('axis', [1]);
  const summary = g.node('Div', [
    g.node('CumSum', [g.node('Mul', [embedded, weight]), axis]),
    g.node('CumSum', [weight, axis]),
  ]);
  const mlp = g.node('Tanh', [
    g.node('Add', [
      g.node('MatMul', [summary, g.floats('mlp_weight', [HIDDEN_SIZE, HIDDEN_SIZE], mix)]),
      g.floats('mlp_bias', [HIDDEN_SIZE], mixBias),
    ]),
  ]);
  const hidden = g.node('Add', [g.node('Add', [embedded, summary]), mlp], {}, 'last_hidden_state');
  g.output(hidden, ['batch', MAX_LENGTH, HIDDEN_SIZE]);

  // <|endoftext|> has the highest id, so ArgMax finds the first one: CLIP's own pooling rule.
  const eosAt = g.node('Unsqueeze', [
    g.node('ArgMax', [ids], { axis: attr.int(1), keepdims: attr.int(0) }),
    g.int64s('axes', [1]),
  ]);
  const oneHot = g.node('Cast', [g.node('Equal', [eosAt, g.int64s('positions', [...Array(MAX_LENGTH).keys()])])], {
    to: attr.int(FLOAT),
  });
  const picked = g.node('MatMul', [g.node('Unsqueeze', [oneHot, g.int64s('axes', [1])]), hidden]);
  g.output(g.node('Squeeze', [picked, g.int64s('axes', [1])], {}, 'pooler_output'), ['batch', HIDDEN_SIZE]);

  const bytes = g.serialize({
    opset: 17,
    producer: 'darkroom tiny-diffusion',
    docString: 'Tiny CLIP-style text encoder for the tiny SD pipeline',
  });
  return patchModel(bytes, { elementTypes: { input_ids: 'int32' } });
}
