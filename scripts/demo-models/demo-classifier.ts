import type { ClassifierManifest } from '../../src/models/model-manifest';
import {
  CHROMA_WEIGHT,
  COLOUR_LABELS,
  COLOUR_PROTOTYPES,
  LINEAR_TO_LMS,
  LMS_TO_OKLAB,
  SRGB_GAMMA,
  comparisonSpace,
} from './colour-prototypes';
import { createGraph, attr } from './onnx-graph';

/**
 * demo-colors: "which colours is this image made of". Every pixel goes to a weighted Oklab space,
 * is scored against colour prototypes by negative squared distance, votes for the nearest one
 * through a sharp softmax, and the votes are averaged over the image and summed per label. The
 * scores are the fraction of pixels of each colour.
 */

/** Bump when the graph or the prototypes change, so `build-demo-models` rewrites the folder. */
export const CLASSIFIER_VERSION = 'demo-colors/1';

const SIZE = 64;
/** Softmax temperature in squared comparison-space distance: small, so each pixel picks one. */
const TEMPERATURE = 0.0005;

/** A 1x1 Conv weight [out, in, 1, 1] from a row-major matrix. */
function pointwise(matrix: ReadonlyArray<ReadonlyArray<number>>): { dims: number[]; values: number[] } {
  return { dims: [matrix.length, matrix[0].length, 1, 1], values: matrix.flat() };
}

/** Serialized demo-colors graph; deterministic bytes. */
export function buildClassifierModel(): Uint8Array {
  // -|q - p|^2 = 2 p.q - |p|^2 - |q|^2; the last term is the same for every prototype, so the
  // softmax ignores it and the score is linear in q = D * LMS_TO_OKLAB * lms': one 1x1 Conv.
  const weighting = [1, CHROMA_WEIGHT, CHROMA_WEIGHT];
  const toSpace = LMS_TO_OKLAB.map((row, i) => row.map((v) => v * weighting[i]));
  const prototypes = COLOUR_PROTOTYPES.flatMap((entry, label) =>
    entry.srgb.map((srgb) => ({ label, q: comparisonSpace([srgb[0] / 255, srgb[1] / 255, srgb[2] / 255]) })),
  );
  const scoreRows = prototypes.map(({ q }) =>
    [0, 1, 2].map((j) => (2 / TEMPERATURE) * (q[0] * toSpace[0][j] + q[1] * toSpace[1][j] + q[2] * toSpace[2][j])),
  );
  const scoreBias = prototypes.map(({ q }) => -(q[0] ** 2 + q[1] ** 2 + q[2] ** 2) / TEMPERATURE);
  const membership = prototypes.flatMap(({ label }) => COLOUR_LABELS.map((_, k) => (k === label ? 1 : 0)));

  const g = createGraph('demo_colors');
  const image = g.input('image', ['N', 3, SIZE, SIZE]);
  const clipped = g.node('Clip', [image, g.floats('lo', [], [0]), g.floats('hi', [], [1])]);
  const linear = g.node('Pow', [clipped, g.floats('gamma', [], [SRGB_GAMMA])]);
  const lmsWeight = pointwise(LINEAR_TO_LMS);
  const lms = g.node('Conv', [linear, g.floats('w_lms', lmsWeight.dims, lmsWeight.values)]);
  const lmsRoot = g.node('Pow', [lms, g.floats('third', [], [1 / 3])]);
  const scoreWeight = pointwise(scoreRows);
  const logits = g.node('Conv', [
    lmsRoot,
    g.floats('w_score', scoreWeight.dims, scoreWeight.values),
    g.floats('b_score', [prototypes.length], scoreBias),
  ]);
  const votes = g.node('Softmax', [logits], { axis: attr.int(1) });
  const shares = g.node('Flatten', [g.node('GlobalAveragePool', [votes])], { axis: attr.int(1) });
  g.node('MatMul', [shares, g.floats('w_labels', [prototypes.length, COLOUR_LABELS.length], membership)], {}, 'scores');
  g.output('scores', ['N', COLOUR_LABELS.length]);
  return g.serialize({ opset: 13, producer: 'darkroom build-demo-models', docString: CLASSIFIER_VERSION });
}

/** The manifest written next to demo-colors' model.onnx. */
export const classifierManifest: ClassifierManifest = {
  name: 'demo-colors',
  kind: 'classifier',
  description: 'Demo classifier: the share of pixels of each named colour. Built by scripts/build-demo-models.ts.',
  files: { model: 'model.onnx' },
  inputs: { image: 'image' },
  outputs: { scores: 'scores' },
  batching: { max_batch_size: 16, max_queue_delay_ms: 4 },
  preprocess: {
    width: SIZE,
    height: SIZE,
    resize: 'stretch',
    resize_filter: 'lanczos3',
    channel_order: 'RGB',
    scale: 1 / 255,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    layout: 'NCHW',
    dtype: 'float32',
  },
  labels: [...COLOUR_LABELS],
  output_activation: 'none',
};
