import { onnx } from 'onnx-proto';

/**
 * What the shared `onnx-graph` builder cannot express yet, applied to its serialized output: graph
 * inputs/outputs that are not float32 (token ids, timesteps) and string attributes (Resize's mode).
 */

const ELEMENT_TYPES = { int32: onnx.TensorProto.DataType.INT32, int64: onnx.TensorProto.DataType.INT64 };

/** A non-float graph input or output element type. */
export type IntegerElementType = keyof typeof ELEMENT_TYPES;

/** Edits to apply to a serialized model. */
export interface ModelPatches {
  /** Graph input/output name -> element type. */
  elementTypes?: Record<string, IntegerElementType>;
  /** String attributes set on every node of an op type, e.g. `{ Resize: { mode: 'linear' } }`. */
  stringAttributes?: Record<string, Record<string, string>>;
}

/** Returns the model bytes with the patches applied; throws when a named value or op is missing. */
export function patchModel(bytes: Uint8Array, patches: ModelPatches): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph as onnx.GraphProto;

  for (const [name, type] of Object.entries(patches.elementTypes ?? {})) {
    const value = [...graph.input, ...graph.output].find((v) => v.name === name);
    if (value?.type?.tensorType == null) throw new Error(`no graph input or output named ${name}`);
    value.type.tensorType.elemType = ELEMENT_TYPES[type];
  }

  for (const [opType, attributes] of Object.entries(patches.stringAttributes ?? {})) {
    const nodes = graph.node.filter((n) => n.opType === opType);
    if (nodes.length === 0) throw new Error(`no ${opType} node to set ${Object.keys(attributes).join(', ')} on`);
    for (const node of nodes) {
      for (const [name, text] of Object.entries(attributes)) {
        (node.attribute ??= []).push(
          onnx.AttributeProto.create({
            name,
            type: onnx.AttributeProto.AttributeType.STRING,
            s: Buffer.from(text, 'utf8'),
          }),
        );
      }
    }
  }
  return onnx.ModelProto.encode(model).finish();
}
