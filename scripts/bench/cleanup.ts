import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Every child process and temp folder the benchmark makes is registered here, so that a normal
 * end, a failure, an uncaught error or Ctrl-C all leave nothing behind.
 */
const children = new Map<ChildProcess, string>();
const dirs = new Set<string>();

const alive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

export function trackChild(child: ChildProcess, name: string): ChildProcess {
  children.set(child, name);
  child.once('exit', () => children.delete(child));
  return child;
}

/** The live processes the benchmark started, by name and pid (for CPU accounting). */
export function liveChildren(): { name: string; pid: number }[] {
  return [...children].filter(([c]) => alive(c) && c.pid !== undefined).map(([c, name]) => ({ name, pid: c.pid! }));
}

/** A fresh folder under the OS temp dir, removed at the end whatever happens. */
export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `darkroom-bench-${prefix}-`));
  dirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Sends `signal`, then SIGKILL if the process has not exited after `graceMs`. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    if (!alive(child)) return resolve();
    const timer = setTimeout(() => alive(child) && child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** Stops every live child (TERM, then KILL) and removes every temp folder. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...children.keys()].map((c) => stopChild(c)));
  for (const dir of [...dirs]) removeTempDir(dir);
}

/** Last resort from the synchronous 'exit' handler: no waiting possible, so KILL. */
function cleanupNow(): void {
  for (const child of children.keys()) if (alive(child)) child.kill('SIGKILL');
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
}

/** Ctrl-C, SIGTERM and uncaught errors clean up before the process exits. */
export function installCleanupHandlers(): void {
  let exiting = false;
  const bail = (code: number, why: string) => {
    if (exiting) {
      cleanupNow();
      process.exit(code);
    }
    exiting = true;
    process.stderr.write(`\nbench: ${why}; stopping child processes and removing temp folders...\n`);
    cleanupAll().finally(() => process.exit(code));
  };
  process.on('SIGINT', () => bail(130, 'interrupted'));
  process.on('SIGTERM', () => bail(143, 'terminated'));
  process.on('uncaughtException', (err) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    bail(1, 'uncaught error');
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    bail(1, 'unhandled rejection');
  });
  process.on('exit', cleanupNow);
}
