import fs from 'node:fs';

/**
 * CPU time per thread from /proc/<pid>/task/<tid>/schedstat: ns on a CPU, and ns runnable but
 * waiting for one (on a busy machine a wall-clock profiler counts the waiting as well).
 */
export interface ThreadTimes {
  /** The thread's name (comm): "node", "libvips worker", "v8:ProfEvntProc"... */
  name: string;
  runNs: number;
  waitNs: number;
}

/** Every thread of `pid` now (empty once the process is gone). */
export function threadTimes(pid: number): Map<number, ThreadTimes> {
  const times = new Map<number, ThreadTimes>();
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return times;
  }
  for (const tid of tids) {
    try {
      const task = `/proc/${pid}/task/${tid}`;
      const [run, wait] = fs.readFileSync(`${task}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
      const name = fs.readFileSync(`${task}/comm`, 'utf8').trim();
      times.set(Number(tid), { name, runNs: run, waitNs: wait });
    } catch {
      // the thread ended between readdir and read
    }
  }
  return times;
}

/** One process's CPU between two readings: its main thread (tid = pid), and its other threads by name. */
export interface ProcessThreadsUse {
  mainRunNs: number;
  mainWaitNs: number;
  /** CPU of the other threads alive at the end, by thread name (Node 20 names its own threads "node"). */
  othersByName: Record<string, number>;
  threads: number;
}

export function threadsBetween(
  pid: number,
  a: Map<number, ThreadTimes>,
  b: Map<number, ThreadTimes>,
): ProcessThreadsUse {
  const othersByName: Record<string, number> = {};
  for (const [tid, t] of b) {
    const run = t.runNs - (a.get(tid)?.runNs ?? 0);
    if (tid !== pid) othersByName[t.name] = (othersByName[t.name] ?? 0) + run;
  }
  const main = (m: Map<number, ThreadTimes>) => m.get(pid) ?? { runNs: 0, waitNs: 0 };
  return {
    othersByName,
    mainRunNs: main(b).runNs - main(a).runNs,
    mainWaitNs: main(b).waitNs - main(a).waitNs,
    threads: b.size,
  };
}
