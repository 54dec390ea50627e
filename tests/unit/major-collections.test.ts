import v8 from 'node:v8';
import vm from 'node:vm';
import { majorCollections } from '../../workers/components/heartbeat';

// The heartbeat reports full collections of the worker's main heap (npm run bench reports them per
// 1,000 images): a forced full collection must be counted, with its time.
test('majorCollections counts full collections of this heap', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (options?: { type: 'major' | 'minor' }) => void;
  const counter = majorCollections();
  try {
    gc({ type: 'minor' });
    await new Promise((r) => setTimeout(r, 50));
    expect(counter.totals.count).toBe(0);
    gc();
    gc();
    for (let i = 0; i < 20 && counter.totals.count < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(counter.totals.count).toBeGreaterThanOrEqual(2);
    expect(counter.totals.ms).toBeGreaterThan(0);
  } finally {
    counter.stop();
  }
});
