import { compactFeeds, splitBatch, type TensorData } from '../../workers/runtime/tensor-data';

const batch = (rows: number, per: number): TensorData => ({
  type: 'float32',
  dims: [rows, per],
  data: Float32Array.from({ length: rows * per }, (_, i) => i),
});

test('splitBatch hands out views into the batch buffer, each with its rows', () => {
  const t = batch(5, 3);
  const [a, b] = splitBatch(t, [2, 3]);
  expect(a.dims).toEqual([2, 3]);
  expect([...a.data]).toEqual([0, 1, 2, 3, 4, 5]);
  expect(b.dims).toEqual([3, 3]);
  expect([...b.data]).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14]);
  // No copies: both pieces live in the batch's buffer.
  expect(a.data.buffer).toBe(t.data.buffer);
  expect(b.data.buffer).toBe(t.data.buffer);
  // One piece is the tensor itself.
  expect(splitBatch(t, [5])[0]).toBe(t);
});

test('compactFeeds copies a view out of its larger buffer and leaves whole tensors alone', () => {
  const whole = batch(2, 4);
  const [piece] = splitBatch(batch(3, 4), [1, 2]);
  const feeds = { whole, piece };
  const posted = compactFeeds(feeds);
  expect(posted.whole).toBe(whole);
  expect(posted.piece.data.buffer).not.toBe(piece.data.buffer);
  expect(posted.piece.data.buffer.byteLength).toBe(4 * 4);
  expect([...posted.piece.data]).toEqual([...piece.data]);
  expect(feeds.piece).toBe(piece); // the caller's feeds are not changed
  expect(compactFeeds({ whole })).toEqual({ whole });
});
