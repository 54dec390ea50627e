import { onnx } from 'onnx-proto';
import { channelAffine, sourceChannels, type TensorPreprocess } from '../imaging/image-tensor';
import type { TensorData } from './tensor-data';

/**
 * An image model's normalisation moved into its graph: the rewritten graph takes the staged 8-bit
 * interleaved pixels, [N, H, W, 3] uint8, under the input's own name, and makes from them the tensor
 * the model was trained on, with nodes in front of the original ones:
 *
 *   pixels -> Transpose (to planes) -> (Gather: BGR order) -> Cast float -> Mul -> Add -> (Transpose back, Cast float16)
 *
 * Mul and Add use `channelAffine` of workers/imaging/image-tensor.ts, as `imageToTensor` does, so
 * the graph's tensor is the one `imageToTensor` makes, bit for bit.
 *
 * Why: per image, the worker's main thread no longer loops over every pixel to make a float tensor,
 * and hands the inference thread a quarter of the bytes. With CUDA, the arithmetic runs on the GPU
 * and only the 8-bit pixels cross the bus.
 */
export interface PixelInputSpec {
  /** The graph input that takes the normalised image tensor. */
  input: string;
  layout: 'NCHW' | 'NHWC';
  /** Per model channel, float32 values: tensor = pixel * multiplier + offset (`channelAffine`). */
  multiplier: [number, number, number];
  offset: [number, number, number];
  /** The source channel of each model channel (`sourceChannels`). */
  sourceChannels: [number, number, number];
}

/** The spec for image input `input` of a model with preprocess `pre`. */
export function pixelInputSpec(
  input: string,
  pre: Pick<TensorPreprocess, 'layout' | 'scale' | 'mean' | 'std' | 'channel_order'>,
): PixelInputSpec {
  return { input, layout: pre.layout, ...channelAffine(pre), sourceChannels: sourceChannels(pre) };
}

/** Whether a loaded graph took the rewrite: its image input `input` now takes 8-bit pixels. */
export const takesPixels = (inputs: { name: string; type: string }[], input: string): boolean =>
  inputs.find((i) => i.name === input)?.type === 'uint8';

/** What such a graph is fed: `count` images of width x height, interleaved RGB bytes side by side in `data`. */
export const pixelFeed = (data: Uint8Array, count: number, width: number, height: number): TensorData => ({
  type: 'uint8',
  dims: [count, height, width, 3],
  data,
});

const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;
/** Mul and Add broadcast without an attribute, and Cast takes `to` as a number, from opset 7 on. */
const MIN_OPSET = 7;

/** Why a graph cannot take pixels; the inference thread then keeps the original graph. */
export class PixelInputUnsupported extends Error {}

const rawOf = (a: Float32Array | BigInt64Array) =>
  new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

/** Renames every use of `from` as a node input, in `graph` and the subgraphs of its nodes. */
function renameUses(graph: onnx.IGraphProto, from: string, to: string): void {
  for (const node of graph.node ?? []) {
    node.input = (node.input ?? []).map((name) => (name === from ? to : name));
    for (const a of node.attribute ?? []) {
      if (a.g) renameUses(a.g, from, to);
      for (const g of a.graphs ?? []) renameUses(g, from, to);
    }
  }
  for (const info of graph.valueInfo ?? []) if (info.name === from) info.name = to;
}

/** Every name a graph (and its subgraphs) already uses, so the new ones cannot collide. */
function namesIn(graph: onnx.IGraphProto, into = new Set<string>()): Set<string> {
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) into.add(v.name ?? '');
  for (const t of graph.initializer ?? []) into.add(t.name ?? '');
  for (const node of graph.node ?? []) {
    for (const n of [...(node.input ?? []), ...(node.output ?? [])]) into.add(n);
    for (const a of node.attribute ?? []) {
      if (a.g) namesIn(a.g, into);
      for (const g of a.graphs ?? []) namesIn(g, into);
    }
  }
  return into;
}

const dimOf = (d: onnx.TensorShapeProto.IDimension | undefined): onnx.TensorShapeProto.IDimension =>
  d?.dimValue != null && Number(d.dimValue) > 0 ? { dimValue: Number(d.dimValue) } : { dimParam: d?.dimParam || 'N' };

/** The model's version of the default ONNX operator set. */
function defaultOpset(model: onnx.IModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return entry?.version == null ? 0 : Number(entry.version);
}

/** Checks that `spec.input` is a float image input of 3 channels; returns its index and type. */
function imageInput(model: onnx.IModelProto, spec: PixelInputSpec) {
  const graph = model.graph;
  if (!graph) throw new PixelInputUnsupported('the model has no graph');
  if (defaultOpset(model) < MIN_OPSET)
    throw new PixelInputUnsupported(`the model's opset ${defaultOpset(model)} is older than ${MIN_OPSET}`);
  const inputs = graph.input ?? [];
  const at = inputs.findIndex((i) => i.name === spec.input);
  if (at < 0) throw new PixelInputUnsupported(`the graph has no input ${spec.input}`);
  const tensor = inputs[at].type?.tensorType;
  const elemType = tensor?.elemType;
  if (elemType !== DataType.FLOAT && elemType !== DataType.FLOAT16)
    throw new PixelInputUnsupported(`input ${spec.input} is not float32 or float16`);
  const dims = tensor?.shape?.dim ?? [];
  if (dims.length !== 4) throw new PixelInputUnsupported(`input ${spec.input} is not 4-dimensional`);
  const [channels, height, width] = spec.layout === 'NCHW' ? [dims[1], dims[2], dims[3]] : [dims[3], dims[1], dims[2]];
  if (channels.dimValue != null && Number(channels.dimValue) > 0 && Number(channels.dimValue) !== 3)
    throw new PixelInputUnsupported(`input ${spec.input} has ${Number(channels.dimValue)} channels, not 3`);
  if ((graph.initializer ?? []).some((t) => t.name === spec.input))
    throw new PixelInputUnsupported(`input ${spec.input} has a default value (an initializer)`);
  if ((graph.output ?? []).some((o) => o.name === spec.input))
    throw new PixelInputUnsupported(`input ${spec.input} is also a graph output`);
  if ((graph.initializer ?? []).some((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL))
    throw new PixelInputUnsupported('the model keeps its weights in external data files');
  return { graph, inputs, at, half: elemType === DataType.FLOAT16, batch: dims[0], height, width };
}

/**
 * The ONNX model `bytes` rewritten to take 8-bit pixels at `spec.input` (see PixelInputSpec).
 * Throws PixelInputUnsupported when the input is not a float image tensor of 3 channels in the
 * declared layout, the opset is older than 7, or the model keeps its weights in external files
 * (it is then loaded from its path, unchanged).
 */
export function withPixelInput(bytes: Uint8Array, spec: PixelInputSpec): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const { graph, inputs, at, half, batch, height, width } = imageInput(model, spec);
  const used = namesIn(graph);
  const fresh = (base: string) => {
    let name = `darkroom_pixels/${base}`;
    for (let i = 1; used.has(name); i++) name = `darkroom_pixels/${base}_${i}`;
    used.add(name);
    return name;
  };
  const tensorName = fresh('normalised');
  renameUses(graph, spec.input, tensorName);

  const initializers: onnx.ITensorProto[] = [];
  const nodes: onnx.INodeProto[] = [];
  const constant = (base: string, dataType: number, values: Float32Array | BigInt64Array, dims: number[]) => {
    const name = fresh(base);
    initializers.push({ name, dataType, dims, rawData: rawOf(values) });
    return name;
  };
  let last = spec.input;
  const node = (opType: string, input: string[], attribute: onnx.IAttributeProto[] = [], output?: string) => {
    last = output ?? fresh(opType.toLowerCase());
    nodes.push({ opType, input, output: [last], name: fresh(`${opType}_node`), attribute });
    return last;
  };
  const int = (name: string, i: number) => ({ name, type: AttributeType.INT, i });
  const perm = (ints: number[]) => ({ name: 'perm', type: AttributeType.INTS, ints });

  // Planes first: Transpose of bytes is cheap, and a channel is then one block (Gather copies blocks).
  node('Transpose', [last], [perm([0, 3, 1, 2])]);
  if (spec.sourceChannels.some((s, c) => s !== c)) {
    const order = constant('channel_order', DataType.INT64, BigInt64Array.from(spec.sourceChannels.map(BigInt)), [3]);
    node('Gather', [last, order], [int('axis', 1)]);
  }
  if (spec.layout === 'NHWC') node('Transpose', [last], [perm([0, 2, 3, 1])]);
  const shape = spec.layout === 'NCHW' ? [1, 3, 1, 1] : [3];
  node('Cast', [last], [int('to', DataType.FLOAT)]);
  node('Mul', [last, constant('multiplier', DataType.FLOAT, Float32Array.from(spec.multiplier), shape)]);
  const offset = constant('offset', DataType.FLOAT, Float32Array.from(spec.offset), shape);
  if (half) {
    node('Add', [last, offset]);
    node('Cast', [last], [int('to', DataType.FLOAT16)], tensorName);
  } else {
    node('Add', [last, offset], [], tensorName);
  }

  inputs[at] = {
    name: spec.input,
    docString: 'darkroom: 8-bit interleaved pixels [N, H, W, 3], normalised inside the graph',
    type: {
      tensorType: {
        elemType: DataType.UINT8,
        shape: { dim: [dimOf(batch), dimOf(height), dimOf(width), { dimValue: 3 }] },
      },
    },
  };
  graph.input = inputs;
  graph.initializer = [...(graph.initializer ?? []), ...initializers];
  graph.node = [...nodes, ...(graph.node ?? [])];
  return onnx.ModelProto.encode(model).finish();
}
