import { TensorPool } from '../../workers/runtime/tensor-pool';

/** The runner's pool of feed buffers (workers/runtime/tensor-pool.ts): what it keeps and hands out again. */
const KB = 1024;

test('a buffer given back is handed out again for the same size, and a new one otherwise', () => {
  const pool = new TensorPool();
  const first = pool.allocate('float32', 64 * KB);
  expect(first).toBeInstanceOf(Float32Array);
  expect(first.length).toBe(64 * KB);
  pool.give(first.buffer as ArrayBuffer);
  expect(pool.bytes).toBe(256 * KB);
  expect(pool.allocate('float32', 64 * KB).buffer).toBe(first.buffer);
  expect(pool.bytes).toBe(0);
  expect(pool.allocate('float32', 64 * KB).buffer).not.toBe(first.buffer);
});

test('room for more: a view of the length asked for, over a buffer of the capacity, reused by any length with that capacity', () => {
  const pool = new TensorPool();
  const two = pool.allocate('float32', 2 * 32 * KB, 16 * 32 * KB);
  expect(two.length).toBe(2 * 32 * KB);
  expect(two.buffer.byteLength).toBe(16 * 32 * KB * 4);
  pool.give(two.buffer as ArrayBuffer);
  const five = pool.allocate('float32', 5 * 32 * KB, 16 * 32 * KB);
  expect(five.buffer).toBe(two.buffer);
  expect(five.length).toBe(5 * 32 * KB);
});

test('keeps only sizes it has been asked for, at least minBytes, and at most maxBytes in all', () => {
  const pool = new TensorPool(1024 * KB, 64 * KB);
  pool.give(new ArrayBuffer(512 * KB)); // never asked for
  expect(pool.bytes).toBe(0);
  pool.allocate('float32', 8 * KB); // 32 KB: under minBytes
  pool.give(new ArrayBuffer(32 * KB));
  expect(pool.bytes).toBe(0);
  pool.allocate('float32', 100 * KB); // 400 KB
  pool.give(new ArrayBuffer(400 * KB));
  pool.give(new ArrayBuffer(400 * KB));
  pool.give(new ArrayBuffer(400 * KB)); // over 1024 KB in all: dropped
  expect(pool.bytes).toBe(800 * KB);
});

test('a buffer moved to another thread (detached) is not kept, nor one given twice', () => {
  const pool = new TensorPool();
  const a = pool.allocate('float32', 64 * KB);
  const b = pool.allocate('float32', 64 * KB);
  structuredClone(a.buffer, { transfer: [a.buffer as ArrayBuffer] });
  pool.give(a.buffer as ArrayBuffer);
  expect(pool.bytes).toBe(0);
  pool.give(b.buffer as ArrayBuffer);
  pool.give(b.buffer as ArrayBuffer);
  expect(pool.bytes).toBe(256 * KB);
});
