import fs from 'node:fs';
import { startStack, type Stack } from '../helpers/stack';

/**
 * WORKER_INFERENCE_NICE lowers the CPU priority of the inference threads only (Linux sets nice per
 * thread): the worker's main thread, which renews BullMQ locks, keeps the priority it started with.
 */

/** Nice value of every thread of a process, read from /proc/<pid>/task/<tid>/stat. */
function threadNices(pid: number): Map<number, number> {
  const nices = new Map<number, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, nice field 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    nices.set(Number(tid), Number(fields[19 - 3]));
  }
  return nices;
}

const onLinux = process.platform === 'linux' ? describe : describe.skip;

onLinux('inference thread priority', () => {
  let stack: Stack;
  afterEach(async () => {
    await stack?.stop();
  });

  test('by default the inference threads run at nice 10 and the main thread as started', async () => {
    stack = await startStack();
    const pid = stack.workers[0].child.pid!;
    const nices = threadNices(pid);
    const own = startedNice();
    expect(nices.get(pid)).toBe(own);
    // One inference thread per loaded graph; the demo models alone load several.
    expect([...nices.values()].filter((n) => n === 10).length).toBeGreaterThanOrEqual(2);
  });

  test('WORKER_INFERENCE_NICE=0 leaves every thread as started', async () => {
    stack = await startStack({ workerEnv: { WORKER_INFERENCE_NICE: '0' } });
    const nices = threadNices(stack.workers[0].child.pid!);
    expect(new Set(nices.values())).toEqual(new Set([startedNice()]));
  });
});

/** The nice value this test process runs at, which the worker inherits. */
function startedNice(): number {
  return threadNices(process.pid).get(process.pid)!;
}
