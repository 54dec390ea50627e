import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import net from 'node:net';
import { makeTempDir, removeTempDir } from './cleanup';
import { freePort, launch, waitUntil, type Launched } from './process-launcher';

/** A private redis-server: free port, temp folder, settings as darkroom starts its own. */
export interface BenchRedis {
  url: string;
  proc: Launched;
  version: string;
  /** Empties Redis, so a section starts with no jobs left over from an earlier one. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

/** Starts redis-server (appendonly yes, noeviction, like `npm start`); fails clearly when it is not installed. */
export async function startBenchRedis(): Promise<BenchRedis> {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0)
    throw new Error(
      'redis-server is not installed; the benchmark needs a real Redis (sudo apt-get install -y redis-server)',
    );
  const version = /v=(\S+)/.exec(probe.stdout)?.[1] ?? probe.stdout.trim();
  const port = await freePort();
  const dir = makeTempDir('redis');
  const proc = launch('redis-server', 'redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--save',
    '',
    '--maxmemory-policy',
    'noeviction',
  ]);
  await waitUntil(`redis-server on port ${port}`, proc, () => portOpen(port), 10_000);
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    proc,
    version,
    async flush() {
      const client = new Redis(url, { maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      try {
        await client.flushall();
      } finally {
        client.disconnect();
      }
    },
    async stop() {
      await proc.stop();
      removeTempDir(dir);
    },
  };
}
