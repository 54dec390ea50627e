import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

/**
 * Where the machine's CPU time went, from /proc: this process and the processes it started,
 * and everything else (other people's tests on a shared machine show up there).
 */

const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const CORES = os.cpus().length;

/** [busy, total] jiffies of all CPUs. */
function machineTicks(): [number, number] {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3] + (fields[4] ?? 0);
  return [total - idle, total];
}

/** utime + stime (and, with `children`, reaped children's) of a process, in jiffies; 0 once it is gone. */
function processTicks(pid: number | 'self', children = false): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // Fields 14-17 of stat(5), counted after the command name: utime, stime, cutime, cstime.
    return f[11] + f[12] + (children ? f[13] + f[14] : 0);
  } catch {
    return 0;
  }
}

export interface CpuSnapshot {
  at: number;
  busy: number;
  total: number;
  /** This process with its reaped children. */
  self: number;
  procs: Map<number, { name: string; ticks: number }>;
}

export function snapshot(procs: { name: string; pid: number }[] = []): CpuSnapshot {
  const [busy, total] = machineTicks();
  return {
    at: performance.now(),
    busy,
    total,
    self: processTicks('self', true),
    procs: new Map(procs.map((p) => [p.pid, { name: p.name, ticks: processTicks(p.pid) }])),
  };
}

/** CPU used between two snapshots, in cores (1.0 = one core busy all the time); same-named processes are summed. */
export interface CpuUse {
  seconds: number;
  machine: number;
  /** Per tracked process, plus "bench" for this process. */
  byProcess: Record<string, number>;
  /** Busy time not ours (with whole-run snapshots: everything ours is in `bench`). */
  others: number;
  cores: number;
}

export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot): CpuUse {
  const seconds = (b.at - a.at) / 1000;
  const share = (ticks: number) => ticks / TICKS / seconds;
  // /proc/stat counts all CPUs: busy jiffies / elapsed jiffies of one CPU = cores in use.
  const machine = ((b.busy - a.busy) / (b.total - a.total)) * CORES;
  const byProcess: Record<string, number> = { bench: share(b.self - a.self) };
  const add = (name: string, ticks: number) => (byProcess[name] = (byProcess[name] ?? 0) + share(ticks));
  for (const [pid, p] of b.procs) add(p.name, p.ticks - (a.procs.get(pid)?.ticks ?? 0));
  // A process reaped in between: its whole lifetime is now in this process's children's time.
  for (const [pid, p] of a.procs) if (!b.procs.has(pid)) add(p.name, -p.ticks);
  const ours = Object.values(byProcess).reduce((s, v) => s + v, 0);
  return { seconds, machine, byProcess, others: Math.max(0, machine - ours), cores: CORES };
}

/** "API 0.42, worker 1.10, redis 0.05, bench 0.20, others 0.30 cores". */
export function describeCpu(use: CpuUse): string {
  const parts = Object.entries(use.byProcess).map(([name, v]) => `${name} ${v.toFixed(2)}`);
  return `${parts.join(', ')}, other processes ${use.others.toFixed(2)} (of ${use.cores} cores)`;
}
