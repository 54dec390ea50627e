import { attr, type GraphBuilder } from '../onnx-graph';

/**
 * Coordinate grids computed inside a graph from a tensor's runtime Shape, so one model serves
 * any height and width (SD pipelines pick the image size per request).
 */

const FLOAT = 1;

/** A float32 scalar constant. */
export function scalar(g: GraphBuilder, value: number): string {
  return g.floats('scalar', [], [value]);
}

/** The size of `axis` of an int64 shape tensor, as a float32 tensor of shape [1]. */
export function dimension(g: GraphBuilder, shape: string, axis: number): string {
  return g.node('Cast', [g.node('Gather', [shape, g.int64s('axis', [axis])])], { to: attr.int(FLOAT) });
}

/** Pixel centres 0.5, 1.5, ..., size - 0.5 along a dimension given as a [1] float tensor. */
export function pixelCentres(g: GraphBuilder, size: string): string {
  // Range wants scalar bounds; the dimension arrives as a one-element vector.
  const limit = g.node('Squeeze', [g.node('Add', [size, scalar(g, 0.5)]), g.int64s('axes', [0])]);
  return g.node('Range', [scalar(g, 0.5), limit, scalar(g, 1)]);
}

/** Reshapes a 1-D coordinate vector to broadcast along `axis` of an NCHW tensor (2 = rows, 3 = columns). */
export function alongAxis(g: GraphBuilder, values: string, axis: 2 | 3): string {
  return g.node('Reshape', [values, g.int64s('shape', axis === 2 ? [1, 1, -1, 1] : [1, 1, 1, -1])]);
}
