import { ARRAY_OF, type TensorArray, type TensorType } from './tensor-data';

/**
 * Feed buffers a model runner hands out again instead of allocating new ones: the tensor of each
 * classified image and the batch it is joined into. Buffers of that size (600 KB for a 224x224
 * image) live outside V8's heap, and allocating them per image made V8 start full collections
 * several times a second ("external memory pressure"). Reusing them took the worker's CPU per
 * classified image outside session.run from 5.5 to 3.9-4.3 ms here (docs/benchmarks.md). Kept by
 * byte length, so a caller asks for few sizes (a batch asks for room for the largest batch); at
 * most `maxBytes` in all, and
 * buffers under `minBytes` are not worth keeping. A buffer handed back must be one nobody reads or
 * writes any more; one moved to another thread (detached) is ignored.
 */
export class TensorPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  /** Byte lengths allocate has been asked for: only buffers of those sizes are worth keeping. */
  private readonly wanted = new Set<number>();
  private kept = 0;

  constructor(
    private readonly maxBytes = 64 * 2 ** 20,
    private readonly minBytes = 64 * 2 ** 10,
  ) {}

  /**
   * A typed array of `length` elements over a buffer of `capacity` elements: a kept buffer of that
   * size when there is one (its old contents included), else a new one.
   */
  allocate(type: TensorType, length: number, capacity = length): TensorArray {
    const Array = ARRAY_OF[type];
    const bytes = capacity * Array.BYTES_PER_ELEMENT;
    this.wanted.add(bytes);
    let buffer = this.free.get(bytes)?.pop();
    if (buffer) this.kept -= bytes;
    else buffer = new ArrayBuffer(bytes);
    const array = new Array(buffer);
    return length === capacity ? array : (array.subarray(0, length) as TensorArray);
  }

  /** Keeps `buffer` for a later allocate of its size, within the limits. */
  give(buffer: ArrayBuffer): void {
    const bytes = buffer.byteLength; // 0 once detached
    if (bytes < this.minBytes || !this.wanted.has(bytes) || this.kept + bytes > this.maxBytes) return;
    const list = this.free.get(bytes) ?? [];
    if (list.includes(buffer)) return;
    list.push(buffer);
    this.free.set(bytes, list);
    this.kept += bytes;
  }

  /** Bytes kept for reuse now. */
  get bytes(): number {
    return this.kept;
  }

  clear(): void {
    this.free.clear();
    this.wanted.clear();
    this.kept = 0;
  }
}
