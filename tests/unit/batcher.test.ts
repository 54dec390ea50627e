import { createBatcher, retryInHalves, type Outcome, type Queued } from '../../workers/runtime/batcher';

interface Item extends Queued {
  id: string;
}

/** A batcher on jest's fake clock whose batches run until the test ends them with `finish()`. */
function harness(maxBatchSize: number, maxDelayMs: number) {
  const batches: { ids: string[]; at: number; finish(): void }[] = [];
  const batcher = createBatcher<Item>({
    maxBatchSize,
    maxDelayMs,
    now: () => Date.now(),
    runBatch: (batch) =>
      new Promise<void>((finish) => batches.push({ ids: batch.map((b) => b.id), at: Date.now(), finish })),
  });
  const add = (id: string, size = 1, key = 'k') => {
    const item = { id, size, queuedAt: Date.now() };
    batcher.add(key, item);
    return item;
  };
  const ran = () => batches.map((b) => b.ids);
  return { batcher, batches, add, ran };
}

describe('batcher', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  test('waits for company for the delay counted from the oldest request, not the newest', async () => {
    const { add, ran, batches } = harness(8, 10);
    add('a');
    await jest.advanceTimersByTimeAsync(6);
    add('b');
    await jest.advanceTimersByTimeAsync(3);
    expect(ran()).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(ran()).toEqual([['a', 'b']]);
    expect(batches[0].at).toBe(10);
  });

  test('after a batch, the next waits only for what is left of the oldest request’s delay', async () => {
    const { add, ran, batches } = harness(2, 10);
    add('a');
    add('b');
    add('c');
    await jest.advanceTimersByTimeAsync(8);
    add('d', 1, 'other');
    batches[0].finish();
    await jest.advanceTimersByTimeAsync(1);
    expect(ran()).toEqual([['a', 'b']]);
    await jest.advanceTimersByTimeAsync(1);
    expect(ran()).toEqual([['a', 'b'], ['c']]);
    expect(batches[1].at).toBe(10);
  });

  test('runs a full batch at once, without waiting for the delay', async () => {
    const { add, ran, batches } = harness(3, 1000);
    add('a');
    add('b');
    expect(ran()).toEqual([]);
    add('c', 1);
    expect(ran()).toEqual([['a', 'b', 'c']]);
    expect(batches[0].at).toBe(0);
  });

  test('takes at most max batch items, one batch at a time; the rest runs when the batch ends', async () => {
    const { add, ran, batches } = harness(2, 5);
    for (const id of ['a', 'b', 'c', 'd', 'e']) add(id);
    expect(ran()).toEqual([['a', 'b']]);
    await jest.advanceTimersByTimeAsync(100);
    expect(ran()).toEqual([['a', 'b']]);
    batches[0].finish();
    // c, d, e waited through the first batch, longer than the delay: no new wait.
    await jest.advanceTimersByTimeAsync(0);
    expect(ran()).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    batches[1].finish();
    await jest.advanceTimersByTimeAsync(0);
    expect(ran()).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  test('counts items, not requests, and runs a request larger than a batch alone', async () => {
    const { add, ran, batches } = harness(4, 5);
    add('three', 3);
    add('two', 2);
    expect(ran()).toEqual([['three']]);
    batches[0].finish();
    add('six', 6);
    await jest.advanceTimersByTimeAsync(5);
    expect(ran()).toEqual([['three'], ['two']]);
    batches[1].finish();
    await jest.advanceTimersByTimeAsync(0);
    expect(ran()).toEqual([['three'], ['two'], ['six']]);
  });

  test('never mixes keys, and the group that queued first runs first', async () => {
    const { add, ran, batches } = harness(8, 5);
    add('x1', 1, 'x');
    add('y1', 1, 'y');
    add('x2', 1, 'x');
    await jest.advanceTimersByTimeAsync(5);
    expect(ran()).toEqual([['x1', 'x2']]);
    batches[0].finish();
    await jest.advanceTimersByTimeAsync(0);
    expect(ran()).toEqual([['x1', 'x2'], ['y1']]);
  });

  test('hands back a request that is still waiting, but not one whose batch runs', async () => {
    const { batcher, add, ran } = harness(8, 5);
    const a = add('a');
    const b = add('b');
    expect(batcher.remove('k', b)).toBe(true);
    await jest.advanceTimersByTimeAsync(5);
    expect(ran()).toEqual([['a']]);
    expect(batcher.remove('k', a)).toBe(false);
  });

  test('close hands back what waits, starts nothing more, and idle settles when the running batch ends', async () => {
    const { batcher, add, ran, batches } = harness(1, 5);
    add('a');
    add('b');
    expect(batcher.close().map((i) => i.id)).toEqual(['b']);
    let idle = false;
    void batcher.idle().then(() => (idle = true));
    await jest.advanceTimersByTimeAsync(100);
    expect(idle).toBe(false);
    batches[0].finish();
    await jest.advanceTimersByTimeAsync(0);
    expect(idle).toBe(true);
    expect(ran()).toEqual([['a']]);
  });
});

describe('retryInHalves', () => {
  /** Runs batches of numbers; a batch holding `bad` fails, the others answer n * 10. */
  async function runWithBad(batch: number[], bad: number[]) {
    const runs: number[][] = [];
    const settled: [number, Outcome<number>][] = [];
    const splits: number[] = [];
    await retryInHalves(batch, {
      run: async (b) => {
        runs.push(b);
        const hit = b.find((n) => bad.includes(n));
        if (hit !== undefined) throw new Error(`bad item ${hit}`);
        return b.map((n) => n * 10);
      },
      settle: (item, outcome) => settled.push([item, outcome]),
      onSplit: (size) => splits.push(size),
    });
    return { runs, settled, splits };
  }

  test('a batch that runs gives each request its own result, in order, from one run', async () => {
    const { runs, settled, splits } = await runWithBad([1, 2, 3], []);
    expect(runs).toEqual([[1, 2, 3]]);
    expect(settled).toEqual([
      [1, { ok: true, value: 10 }],
      [2, { ok: true, value: 20 }],
      [3, { ok: true, value: 30 }],
    ]);
    expect(splits).toEqual([]);
  });

  test('a failed batch is retried in halves until the bad request fails alone', async () => {
    const { runs, settled, splits } = await runWithBad([1, 2, 3, 4, 5], [3]);
    expect(runs).toEqual([[1, 2, 3, 4, 5], [1, 2, 3], [1, 2], [3], [4, 5]]);
    expect(splits).toEqual([5, 3]);
    expect(settled.map(([n]) => n)).toEqual([1, 2, 3, 4, 5]);
    expect(settled.find(([n]) => n === 3)![1]).toEqual({ ok: false, error: new Error('bad item 3') });
    expect(settled.filter(([, o]) => o.ok).map(([, o]) => o.ok && o.value)).toEqual([10, 20, 40, 50]);
  });

  test('each bad request gets its own failure; a lone request is not retried', async () => {
    const { runs, settled } = await runWithBad([1, 2], [1, 2]);
    expect(runs).toEqual([[1, 2], [1], [2]]);
    expect(settled).toEqual([
      [1, { ok: false, error: new Error('bad item 1') }],
      [2, { ok: false, error: new Error('bad item 2') }],
    ]);
  });

  test('settles the first half before the second half runs', async () => {
    const order: string[] = [];
    await retryInHalves([1, 2], {
      run: async (b) => {
        order.push(`run ${b.join(',')}`);
        if (b.length > 1) throw new Error('too many');
        return b;
      },
      settle: (item) => order.push(`settle ${item}`),
    });
    expect(order).toEqual(['run 1,2', 'run 1', 'settle 1', 'run 2', 'settle 2']);
  });

  test('something thrown that is not an Error still fails its request as an Error', async () => {
    const settled: Outcome<number>[] = [];
    await retryInHalves<number, number>([1], {
      run: () => Promise.reject('out of memory'),
      settle: (_, outcome) => settled.push(outcome),
    });
    expect(settled).toEqual([{ ok: false, error: new Error('out of memory') }]);
  });
});
