import { onnx } from 'onnx-proto';

/**
 * A tiny typed builder over onnx-proto: enough to write the demo graphs by hand. Values are named
 * by strings, as in ONNX itself; `node` returns the name of its (single) output so graphs read as
 * nested calls.
 */

/** A tensor dimension: a fixed size, or a symbolic name such as the batch "N". */
export type Dim = number | string;

/** A node attribute; tagged because ONNX tells 1 (INT) from 1.0 (FLOAT). */
export type Attribute =
  { kind: 'int'; value: number } | { kind: 'float'; value: number } | { kind: 'ints'; value: number[] };

/** Attribute constructors, so call sites stay short: `{ axis: attr.int(1) }`. */
export const attr = {
  int: (value: number): Attribute => ({ kind: 'int', value }),
  float: (value: number): Attribute => ({ kind: 'float', value }),
  ints: (value: number[]): Attribute => ({ kind: 'ints', value }),
};

/** Options written into the ModelProto header. */
export interface ModelOptions {
  opset: number;
  producer: string;
  docString?: string;
}

const { DataType } = onnx.TensorProto;
const { AttributeType } = onnx.AttributeProto;

function valueInfo(name: string, dims: Dim[]): onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim } } } };
}

function attributeProto(name: string, a: Attribute): onnx.IAttributeProto {
  switch (a.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: a.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: a.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: a.value };
  }
}

// ONNX raw_data is little-endian, as are the typed arrays on every platform Node supports.
function rawBytes(values: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

/** Starts an empty graph; add inputs, initializers and nodes, then `serialize`. */
export function createGraph(graphName: string) {
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  const inputs: onnx.IValueInfoProto[] = [];
  const outputs: onnx.IValueInfoProto[] = [];
  const used = new Set<string>();
  let counter = 0;

  const claim = (name: string): string => {
    if (used.has(name)) throw new Error(`duplicate value name in graph ${graphName}: ${name}`);
    used.add(name);
    return name;
  };
  const fresh = (prefix: string): string => claim(`${prefix}_${counter++}`);

  return {
    /** Declares a float32 graph input. */
    input(name: string, dims: Dim[]): string {
      inputs.push(valueInfo(claim(name), dims));
      return name;
    },

    /** Declares an existing value as a float32 graph output. */
    output(name: string, dims: Dim[]): string {
      outputs.push(valueInfo(name, dims));
      return name;
    },

    /** Adds a float32 constant tensor (weights, coordinates). */
    floats(prefix: string, dims: number[], values: Float32Array | number[]): string {
      const data = values instanceof Float32Array ? values : Float32Array.from(values);
      const expected = dims.reduce((a, b) => a * b, 1);
      if (data.length !== expected) throw new Error(`${prefix}: ${data.length} values for shape [${dims}]`);
      const name = fresh(prefix);
      initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: rawBytes(data) });
      return name;
    },

    /** Adds a 1-D int64 constant (shapes, axes, permutations given as inputs). */
    int64s(prefix: string, values: number[]): string {
      const name = fresh(prefix);
      const data = BigInt64Array.from(values.map((v) => BigInt(v)));
      initializers.push({ name, dims: [values.length], dataType: DataType.INT64, rawData: rawBytes(data) });
      return name;
    },

    /** Adds one node and returns the name of its output. */
    node(opType: string, nodeInputs: string[], attributes: Record<string, Attribute> = {}, outName?: string): string {
      const out = outName === undefined ? fresh(opType.toLowerCase()) : claim(outName);
      nodes.push({
        opType,
        name: `${opType}_${nodes.length}`,
        input: nodeInputs,
        output: [out],
        attribute: Object.entries(attributes).map(([key, value]) => attributeProto(key, value)),
      });
      return out;
    },

    /** Encodes the graph as a ModelProto (`model.onnx` bytes). */
    serialize(options: ModelOptions): Uint8Array {
      const model = onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [{ domain: '', version: options.opset }],
        producerName: options.producer,
        docString: options.docString ?? '',
        graph: { name: graphName, node: nodes, initializer: initializers, input: inputs, output: outputs },
      });
      return onnx.ModelProto.encode(model).finish();
    },
  };
}

/** The builder returned by `createGraph`. */
export type GraphBuilder = ReturnType<typeof createGraph>;
