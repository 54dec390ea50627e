/** A tensor as plain data, cheap to post between threads (the buffer is transferred, not copied). */
export type TensorType = 'float32' | 'float16' | 'int32' | 'int64' | 'uint8';
export type TensorArray = Float32Array | Uint16Array | Int32Array | BigInt64Array | Uint8Array;

export interface TensorData {
  type: TensorType;
  dims: number[];
  data: TensorArray;
}

export type Feeds = Record<string, TensorData>;

/** The typed array of each tensor type, made with a length or over an existing buffer. */
export const ARRAY_OF: Record<
  TensorType,
  { new (n: number): TensorArray; new (buffer: ArrayBuffer): TensorArray; BYTES_PER_ELEMENT: number }
> = {
  float32: Float32Array,
  float16: Uint16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
};

/** Makes the typed array of a batch (e.g. from a TensorPool); a new one when absent. */
export type TensorAllocator = (type: TensorType, length: number) => TensorArray;

/** The distinct buffers under `feeds` (what moving them to another thread moves). */
export function buffersOf(feeds: Feeds): ArrayBuffer[] {
  return [...new Set(Object.values(feeds).map((t) => t.data.buffer as ArrayBuffer))];
}

/** Joins tensors along the batch (first) dimension; all must agree on the other dimensions. */
export function concatBatch(parts: TensorData[], allocate?: TensorAllocator): TensorData {
  const [first] = parts;
  if (parts.length === 1) return first;
  const rest = first.dims.slice(1).join('x');
  for (const p of parts) {
    if (p.type !== first.type || p.dims.slice(1).join('x') !== rest) {
      throw new Error(`cannot batch ${p.type}[${p.dims}] with ${first.type}[${first.dims}]`);
    }
  }
  const total = parts.reduce((s, p) => s + p.data.length, 0);
  const data = allocate ? allocate(first.type, total) : new ARRAY_OF[first.type](total);
  let offset = 0;
  for (const p of parts) {
    (data as Float32Array).set(p.data as Float32Array, offset);
    offset += p.data.length;
  }
  return { type: first.type, dims: [parts.reduce((s, p) => s + p.dims[0], 0), ...first.dims.slice(1)], data };
}

/**
 * Splits a batched tensor back into pieces of the given batch sizes: views into its buffer, not
 * copies (a copy per request is a new ArrayBuffer, which V8 counts as fresh external memory). One
 * piece is the tensor itself.
 */
export function splitBatch(tensor: TensorData, sizes: number[]): TensorData[] {
  if (sizes.length === 1) return [tensor];
  const batch = tensor.dims[0];
  const per = batch === 0 ? 0 : tensor.data.length / batch;
  let row = 0;
  return sizes.map((size) => {
    const data = tensor.data.subarray(row * per, (row + size) * per) as TensorArray;
    row += size;
    return { type: tensor.type, dims: [size, ...tensor.dims.slice(1)], data };
  });
}

/**
 * `data` itself when it spans its whole buffer, else a copy that does: posting or moving a view to
 * another thread would take its whole buffer along.
 */
export const ownBuffer = (data: TensorArray): TensorArray =>
  data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : (data.slice() as TensorArray);

/** The feeds as they should be posted to another thread: each tensor in a buffer of its own (ownBuffer). */
export function compactFeeds(feeds: Feeds): Feeds {
  let compact: Feeds | undefined;
  for (const [name, t] of Object.entries(feeds)) {
    const data = ownBuffer(t.data);
    if (data === t.data) continue;
    compact ??= { ...feeds };
    compact[name] = { ...t, data };
  }
  return compact ?? feeds;
}

let unbatchable = 0;

/**
 * A key that says which requests may share a batch: same input names, types and item shapes.
 * A request with a scalar input cannot be concatenated with others, so it gets a key of its own.
 */
export function batchKey(feeds: Feeds): string {
  if (Object.values(feeds).some((t) => t.dims.length === 0)) return `alone:${++unbatchable}`;
  return Object.keys(feeds)
    .sort()
    .map((k) => `${k}:${feeds[k].type}[${feeds[k].dims.slice(1).join(',')}]`)
    .join('|');
}
