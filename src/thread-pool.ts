import fs from 'node:fs';
import os from 'node:os';

const TASKS = '/proc/self/task';
const threadIds = (): string[] => (fs.existsSync(TASKS) ? fs.readdirSync(TASKS) : []);

/**
 * libuv's pool threads when none is set: one per core, at least libuv's own 4. sharp holds a pool
 * thread for each decode or encode (with one libvips thread beside it on glibc), so with libuv's
 * default of 4 an API or worker decodes or encodes 4 images at a time, however many cores it has.
 */
export const defaultPoolSize = (cores: number): number => Math.max(4, cores);

/*
 * Sizes libuv's pool and finds its threads, on import. libuv reads UV_THREADPOOL_SIZE and starts the
 * whole pool, synchronously, on the pool's first request, so the threads that this module's request
 * starts are the pool. A module can start the pool as it loads (BullMQ's msgpackr does), so each
 * entry point imports this one first; imported later, it finds no new threads and says so. This is
 * the one place outside the config module that touches process.env: libuv reads this variable
 * itself, before any config could be loaded, and a value set by the operator is kept.
 */
process.env.UV_THREADPOOL_SIZE ||= String(defaultPoolSize(os.availableParallelism()));
const before = threadIds();
fs.access(TASKS, () => {});
const poolThreads = before.length ? threadIds().filter((tid) => !before.includes(tid)) : [];

/** What lowering the pool's priority did: the threads it set, or why it set none. */
export interface ThreadPoolPriority {
  nice: number;
  threads: number;
  warning?: string;
}

/**
 * Lowers the CPU priority of libuv's thread pool, where sharp decodes and encodes images (libvips
 * starts its own threads from there, and they inherit the value). On a saturated machine the event
 * loop then gets a core before bulk image work: /healthz, job status and BullMQ's lock renewals
 * answer while decodes wait. Linux sets nice per thread.
 */
export function lowerThreadPoolPriority(nice: number): ThreadPoolPriority {
  if (!nice) return { nice, threads: 0 };
  if (!before.length) return { nice, threads: 0, warning: 'per-thread priority needs Linux' };
  if (!poolThreads.length) return { nice, threads: 0, warning: "libuv's thread pool had started before it was found" };
  try {
    // Never raise a thread above the priority the process was started with.
    for (const tid of poolThreads) os.setPriority(Number(tid), Math.max(nice, os.getPriority(Number(tid))));
  } catch (err) {
    return { nice, threads: 0, warning: (err as Error).message };
  }
  return { nice, threads: poolThreads.length };
}
