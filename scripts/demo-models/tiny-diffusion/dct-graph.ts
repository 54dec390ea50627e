import { attr, type GraphBuilder } from '../onnx-graph';
import { pixelCentres, scalar } from './graph-coordinates';

/**
 * The orthonormal 2-D DCT-II inside a graph, for any runtime size: the basis matrices are built
 * from the tensor's Shape, so one model transforms latents of every height and width.
 */

/** Frequencies 0, 1, ..., size - 1 along a dimension given as a [1] float tensor. */
export function frequencies(g: GraphBuilder, size: string): string {
  const limit = g.node('Squeeze', [g.node('Sub', [size, scalar(g, 0.5)]), g.int64s('axes', [0])]);
  return g.node('Range', [scalar(g, 0), limit, scalar(g, 1)]);
}

/** M[k, n] = sqrt((2 - [k = 0]) / N) cos(pi k (n + 1/2) / N), [N, N]: orthonormal, so M^-1 = M^T. */
export function dctMatrix(g: GraphBuilder, size: string): string {
  const k = g.node('Unsqueeze', [frequencies(g, size), g.int64s('axes', [1])]);
  const n = g.node('Unsqueeze', [pixelCentres(g, size), g.int64s('axes', [0])]);
  const angle = g.node('Div', [g.node('Mul', [g.node('Mul', [k, n]), scalar(g, Math.PI)]), size]);
  const isZero = g.node('Cast', [g.node('Less', [k, scalar(g, 0.5)])], { to: attr.int(1) });
  const scale = g.node('Sqrt', [g.node('Div', [g.node('Sub', [scalar(g, 2), isZero]), size])]);
  return g.node('Mul', [g.node('Cos', [angle]), scale]);
}

/** The per-axis DCT matrices for NCHW tensors of rows `height` and columns `width`. */
export interface Dct2d {
  rows: string;
  columns: string;
}

/** Y = M_H X M_W^T over the last two axes (batch and channel axes broadcast). */
export function forwardDct(g: GraphBuilder, dct: Dct2d, x: string): string {
  const transposed = g.node('Transpose', [dct.columns], { perm: attr.ints([1, 0]) });
  return g.node('MatMul', [g.node('MatMul', [dct.rows, x]), transposed]);
}

/** X = M_H^T Y M_W, the inverse of forwardDct. */
export function inverseDct(g: GraphBuilder, dct: Dct2d, y: string): string {
  const transposed = g.node('Transpose', [dct.rows], { perm: attr.ints([1, 0]) });
  return g.node('MatMul', [g.node('MatMul', [transposed, y]), dct.columns]);
}
