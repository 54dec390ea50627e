import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

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

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  stop(): Promise<void>;
  /** Kills and starts it again on the same port and data directory (append-only file kept). */
  restart(downMs?: number): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (open) return;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`redis-server did not start on port ${port}: ${log()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** redis-server settings a test may change, e.g. `{ appendfsync: 'always' }` or `{ 'maxmemory-policy': 'allkeys-lru' }`. */
export type RedisSettings = Record<string, string>;

/** Starts a private redis-server for one test file: free port, temp dir, appendonly, noeviction. */
export async function startTestRedis(settings: RedisSettings = {}): Promise<TestRedis> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(
      'redis-server is not installed: the integration tests need a real Redis (apt-get install -y redis-server)',
    );
  }
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-redis-'));
  let output = '';
  const launch = async () => {
    const all: RedisSettings = {
      port: String(port),
      bind: '127.0.0.1',
      dir,
      appendonly: 'yes',
      save: '',
      'maxmemory-policy': 'noeviction',
      ...settings,
    };
    const args = Object.entries(all).flatMap(([name, value]) => [`--${name}`, value]);
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (output = (output + d).slice(-2000)));
    child.stderr!.on('data', (d) => (output = (output + d).slice(-2000)));
    await waitForPort(port, child, () => output);
    return child;
  };
  // A server that has not exited 5 s after SIGTERM is killed: Redis may wait on a replica (or a
  // save) at shutdown, and a test's teardown must not hang on it.
  const stopChild = (child: ChildProcess, signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => (clearTimeout(force), resolve()));
      child.kill(signal);
    });
  const redis: TestRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    process: await launch(),
    async stop() {
      await stopChild(redis.process, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
    async restart(downMs = 0) {
      await stopChild(redis.process, 'SIGKILL');
      await new Promise((r) => setTimeout(r, downMs));
      redis.process = await launch();
    },
  };
  return redis;
}
