import fs from 'node:fs';
import { onnx } from 'onnx-proto';

/** One graph input or output: its name, element type and shape (a string for a symbolic dimension). */
export interface TensorSignature {
  name: string;
  dtype: 'float32' | 'float16' | 'other';
  shape: (number | string)[];
}

export interface GraphSignature {
  inputs: TensorSignature[];
  outputs: TensorSignature[];
  /** op_type of the node producing each graph output (`Softmax` means the graph returns probabilities). */
  producers: Record<string, string>;
}

// Field numbers in onnx.proto: ModelProto.graph = 7; GraphProto.node = 1, initializer = 5, input = 11, output = 12.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;
/** Nodes larger than this are Constant nodes holding weights: never the producer we look for. */
const MAX_NODE_BYTES = 1 << 20;

/** Positional reads of a file, so the weights a graph embeds are skipped, not read. */
class FileCursor {
  constructor(
    private readonly fd: number,
    public pos: number,
  ) {}

  bytes(length: number): Buffer {
    const buf = Buffer.alloc(length);
    const read = fs.readSync(this.fd, buf, 0, length, this.pos);
    if (read !== length) throw new Error('truncated ONNX file');
    this.pos += length;
    return buf;
  }

  varint(): number {
    let result = 0;
    let factor = 1;
    for (let i = 0; i < 10; i++) {
      const byte = this.bytes(1)[0];
      result += (byte & 0x7f) * factor;
      if (byte < 0x80) return result;
      factor *= 128;
    }
    throw new Error('malformed varint in ONNX file');
  }

  /** Skips a field of wire type `wire` that is not length-delimited. */
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wire} in ONNX file`);
  }
}

const DTYPES: Record<number, TensorSignature['dtype']> = {
  [onnx.TensorProto.DataType.FLOAT]: 'float32',
  [onnx.TensorProto.DataType.FLOAT16]: 'float16',
};

function signatureOf(info: onnx.ValueInfoProto): TensorSignature {
  const tensor = info.type?.tensorType;
  return {
    name: info.name ?? '',
    dtype: DTYPES[tensor?.elemType ?? 0] ?? 'other',
    shape: (tensor?.shape?.dim ?? []).map((d) =>
      d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : d.dimParam || '?',
    ),
  };
}

/**
 * The inputs and outputs of an ONNX graph, read from the protobuf without loading the model: the
 * walk reads field headers and the small input/output/node messages, and seeks over initializers
 * (the weights), so a graph with gigabytes embedded costs a few reads.
 */
export function readGraphSignature(file: string): GraphSignature {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const cursor = new FileCursor(fd, 0);
    while (cursor.pos < size) {
      const key = cursor.varint();
      const [field, wire] = [Math.floor(key / 8), key & 7];
      if (wire !== 2) {
        cursor.skip(wire);
        continue;
      }
      const length = cursor.varint();
      if (field === MODEL_GRAPH) return readGraph(cursor, cursor.pos + length);
      cursor.pos += length;
    }
    throw new Error(`${file} holds no ONNX graph`);
  } finally {
    fs.closeSync(fd);
  }
}

function readGraph(cursor: FileCursor, end: number): GraphSignature {
  const inputs: onnx.ValueInfoProto[] = [];
  const outputs: onnx.ValueInfoProto[] = [];
  const producerOf = new Map<string, string>();
  const initializers = new Set<string>();
  while (cursor.pos < end) {
    const key = cursor.varint();
    const [field, wire] = [Math.floor(key / 8), key & 7];
    if (wire !== 2) {
      cursor.skip(wire);
      continue;
    }
    const length = cursor.varint();
    if (field === GRAPH_INPUT) inputs.push(onnx.ValueInfoProto.decode(cursor.bytes(length)));
    else if (field === GRAPH_OUTPUT) outputs.push(onnx.ValueInfoProto.decode(cursor.bytes(length)));
    else if (field === GRAPH_NODE && length <= MAX_NODE_BYTES) {
      const node = onnx.NodeProto.decode(cursor.bytes(length));
      for (const out of node.output ?? []) producerOf.set(out, node.opType ?? '');
    } else if (field === GRAPH_INITIALIZER) {
      // Only the name is wanted (old exports list initializers among the inputs): TensorProto.name is field 8.
      const start = cursor.pos;
      initializers.add(initializerName(cursor, start + length));
      cursor.pos = start + length;
    } else cursor.pos += length;
  }
  const outs = outputs.map(signatureOf);
  return {
    inputs: inputs.map(signatureOf).filter((i) => !initializers.has(i.name)),
    outputs: outs,
    producers: Object.fromEntries(outs.map((o) => [o.name, producerOf.get(o.name) ?? ''])),
  };
}

function initializerName(cursor: FileCursor, end: number): string {
  while (cursor.pos < end) {
    const key = cursor.varint();
    const [field, wire] = [Math.floor(key / 8), key & 7];
    if (wire !== 2) {
      cursor.skip(wire);
      continue;
    }
    const length = cursor.varint();
    if (field === 8) return cursor.bytes(length).toString('utf8');
    cursor.pos += length;
  }
  return '';
}
