import { startsCold } from '../../workers/fleet/cold-gate';
import { modelQueueName } from '../../src/fleet/model-queues';

/** Which queue workers start paused until the cold gate's first decision (workers/fleet/cold-gate.ts). */
describe('startsCold', () => {
  const budget = { modelMemoryMb: 512 } as Parameters<typeof startsCold>[0];
  const loaded = ['omori-sprite-gan'];

  test('with a memory budget, the queue of a model not loaded starts paused', () => {
    expect(startsCold(budget, () => loaded)(modelQueueName('classification', 'mobilenetv2-12-int8'))).toBe(true);
  });

  test('the queue of a loaded model does not', () => {
    expect(startsCold(budget, () => loaded)(modelQueueName('generation', 'omori-sprite-gan'))).toBe(false);
  });

  test('a per-type queue (jobs an older API queued) does not', () => {
    expect(startsCold(budget, () => [])('classification')).toBe(false);
  });

  test('without a memory budget (every model loaded at start) nothing does', () => {
    const noBudget = { modelMemoryMb: undefined } as Parameters<typeof startsCold>[0];
    expect(startsCold(noBudget, () => [])(modelQueueName('classification', 'mobilenetv2-12-int8'))).toBe(false);
  });
});
