import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { DIST, REPO } from './bench-paths';
import { stopChild, trackChild } from './cleanup';

/** A process the benchmark started, with the tail of its output kept for error messages. */
export interface Launched {
  name: string;
  child: ChildProcess;
  pid: number;
  output(): string;
  running(): boolean;
  /** Sends `signal` (SIGTERM), then SIGKILL if it is still running after `graceMs` (5 s). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** A free TCP port on loopback (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Starts `command` in the repository root; output is kept (last 20 kB), never printed. */
export function launch(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Launched {
  const child = trackChild(spawn(command, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] }), name);
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  return {
    name,
    child,
    pid: child.pid,
    output: () => out,
    running: () => child.exitCode === null && child.signalCode === null,
    stop: (signal = 'SIGTERM', graceMs?: number) => stopChild(child, signal, graceMs),
  };
}

/** Starts a compiled script of this repository (path relative to dist/) with Node; `nodeArgs` go before it (e.g. --cpu-prof). */
export function launchNode(name: string, script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Launched {
  return launch(name, process.execPath, [...nodeArgs, path.join(DIST, script)], env);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `ready` until it resolves true; fails early, with the process output, if `proc` exits. */
export async function waitUntil(
  what: string,
  proc: Launched,
  ready: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.running())
      throw new Error(
        `${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}) before ${what}; its output:\n${proc.output().slice(-3000)}`,
      );
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; ${proc.name} output:\n${proc.output().slice(-3000)}`,
      );
    await sleep(50);
  }
}

/** True once `url` answers 2xx. */
export async function answers(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}
