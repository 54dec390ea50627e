import { addTotals, aggregateProfile, noTotals, type ProfileTotals, type Window } from './cpu-profile';
import type { BenchModel } from './bench-options';
import { makeTempDir, removeTempDir } from './cleanup';
import { cpuBetween, snapshot, type CpuSnapshot, type CpuUse } from './cpu-monitor';
import { submitAndWait } from './darkroom-client';
import { startDarkroomStack } from './darkroom-stack';
import { runClosedLoop } from './load-generators';
import { cpuProfFlags, listProfiles, readProfile } from './profile-files';
import type { Launched } from './process-launcher';
import { startBenchRedis } from './redis-launcher';
import { threadTimes, threadsBetween, type ProcessThreadsUse, type ThreadTimes } from './thread-cpu';
import { workloadFor } from './workloads';

export interface ProfileOptions {
  clients: number;
  seconds: number;
  warmupSeconds: number;
}

/** The JS threads reported, each a sum of one process's profiles. */
export const THREAD_ROLES = ['API main thread', 'worker main thread', 'worker inference threads'] as const;
export type ThreadRole = (typeof THREAD_ROLES)[number] | 'API other JS threads';

export interface ThreadProfile {
  role: ThreadRole;
  /** worker_threads ids summed into this row. */
  threadIds: number[];
  totals: ProfileTotals;
}

/** One model's measured window: images, CPU per process from /proc, and the JS threads' profiles. */
export interface ModelProfile {
  model: BenchModel;
  clients: number;
  /** Length of the CPU window (s): from the end of the warm-up to the end of the measured run. */
  seconds: number;
  /** Images completed per second in the closed loop's window, and so the images the CPU window stands for. */
  imagesPerSecond: number;
  images: number;
  requests: number;
  errors: number;
  firstError?: string;
  cpu: CpuUse;
  threads: ThreadProfile[];
  /** Per-thread CPU (schedstat) of the API and the worker in the window: main thread, all threads. */
  threadCpu: { api: ProcessThreadsUse; worker: ProcessThreadsUse };
  /** How each process ended and how many profiles it left (a process killed with SIGKILL leaves none). */
  exits: string[];
}

/** CPU snapshot plus the same moment on the profiles' clock (µs of CLOCK_MONOTONIC). */
interface Mark {
  snap: CpuSnapshot;
  us: number;
  api: Map<number, ThreadTimes>;
  worker: Map<number, ThreadTimes>;
}

const mark = (procs: { name: string; pid: number }[], api: number, worker: number): Mark => ({
  snap: snapshot(procs),
  us: Number(process.hrtime.bigint() / 1000n),
  api: threadTimes(api),
  worker: threadTimes(worker),
});

/** Sums each process's profiles (inside the window) into the roles of THREAD_ROLES. */
function threadProfiles(dir: string, api: Launched, worker: Launched, window: Window): ThreadProfile[] {
  const rows = new Map<ThreadRole, ThreadProfile>();
  for (const p of listProfiles(dir)) {
    const role: ThreadRole | undefined =
      p.pid === api.pid
        ? p.threadId === 0
          ? 'API main thread'
          : 'API other JS threads'
        : p.pid === worker.pid
          ? p.threadId === 0
            ? 'worker main thread'
            : 'worker inference threads'
          : undefined;
    if (!role) continue;
    const row = rows.get(role) ?? { role, threadIds: [], totals: noTotals() };
    row.threadIds.push(p.threadId);
    row.totals = addTotals(row.totals, aggregateProfile(readProfile(p.file), window));
    rows.set(role, row);
  }
  return [...rows.values()];
}

const ended = (proc: Launched, profiles: number) =>
  `${proc.name}: exit ${proc.child.exitCode ?? proc.child.signalCode}, ${profiles} profile(s)`;

/**
 * Starts a private Redis, the API and one worker (both with --cpu-prof), runs `clients` closed-loop
 * clients for warm-up + `seconds`, and stops everything with SIGTERM so Node writes the profiles.
 */
export async function profileModel(model: BenchModel, options: ProfileOptions): Promise<ModelProfile> {
  const dir = makeTempDir(`cpuprof-${model}`);
  const redis = await startBenchRedis();
  try {
    const stack = await startDarkroomStack(redis, {
      logLevel: 'warn',
      workerConcurrency: 32,
      workerThreads: 0,
      nodeArgs: cpuProfFlags(dir),
    });
    const worker = stack.workers[0];
    const procs = [stack.api, worker, redis.proc].map((p) => ({ name: p.name, pid: p.pid }));
    const workload = workloadFor(model);
    const warmupMs = options.warmupSeconds * 1000;
    const measureMs = options.seconds * 1000;
    const marks: Mark[] = [];
    const take = () => marks.push(mark(procs, stack.api.pid, worker.pid));
    const timers = [warmupMs, warmupMs + measureMs].map((ms) => setTimeout(take, ms));
    const result = await runClosedLoop(options.clients, warmupMs, measureMs, (_client, seq) =>
      submitAndWait(stack.url, workload.darkroom(seq), 'wait', 25),
    );
    timers.forEach(clearTimeout);
    if (marks.length < 2) take();
    const [start, end] = marks;
    // Worker first (its jobs are done), then the API; a long grace so nothing is killed before writing its profile.
    await worker.stop('SIGTERM', 60_000);
    await stack.api.stop('SIGTERM', 60_000);
    await stack.stop();
    const threads = threadProfiles(dir, stack.api, worker, { from: start.us, to: end.us });
    const count = (pid: number) => listProfiles(dir).filter((p) => p.pid === pid).length;
    const cpu = cpuBetween(start.snap, end.snap);
    const imagesPerSecond = result.images / result.seconds;
    return {
      model,
      clients: options.clients,
      seconds: cpu.seconds,
      imagesPerSecond,
      images: imagesPerSecond * cpu.seconds,
      requests: result.requests,
      errors: result.errors,
      firstError: result.firstError,
      cpu,
      threads,
      threadCpu: {
        api: threadsBetween(stack.api.pid, start.api, end.api),
        worker: threadsBetween(worker.pid, start.worker, end.worker),
      },
      exits: [ended(stack.api, count(stack.api.pid)), ended(worker, count(worker.pid))],
    };
  } finally {
    await redis.stop();
    removeTempDir(dir);
  }
}
