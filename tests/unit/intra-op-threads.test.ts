import { defaultIntraOpThreads } from '../../workers/runtime/intra-op-threads';

test('by default an inference gets half the cores, and at least one', () => {
  expect([1, 2, 3, 4, 16, 64].map((cores) => defaultIntraOpThreads(cores))).toEqual([1, 1, 1, 2, 8, 32]);
});
