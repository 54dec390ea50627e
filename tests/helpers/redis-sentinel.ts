import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, startTestRedis, type RedisSettings, type TestRedis } from './redis-server';
import type { RedisDeployment } from './stack';

/**
 * A Sentinel group on loopback, every part a real process: a primary, one replica, three
 * sentinels (quorum 2) that declare the primary down after 1 s without an answer.
 */
export interface TestSentinelGroup extends RedisDeployment {
  masterName: string;
  primary: TestRedis;
  replica: TestRedis;
  sentinels: { port: number; process: ChildProcess }[];
  /** host:port of the primary, as the sentinels see it now. */
  primaryAddress(): Promise<string>;
}

const MASTER = 'darkroom';
const DOWN_AFTER_MS = 1000;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ask<T>(port: number, command: (r: Redis) => Promise<T>): Promise<T> {
  const client = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    return await command(client);
  } finally {
    client.disconnect();
  }
}

function startSentinel(dir: string, port: number, primaryPort: number): ChildProcess {
  const conf = path.join(dir, `sentinel-${port}.conf`);
  fs.writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${MASTER} 127.0.0.1 ${primaryPort} 2`,
      `sentinel down-after-milliseconds ${MASTER} ${DOWN_AFTER_MS}`,
      `sentinel failover-timeout ${MASTER} 10000`,
      `sentinel parallel-syncs ${MASTER} 1`,
      '',
    ].join('\n'),
  );
  return spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
}

/** `primary` settings apply to both servers (a replica is promoted with its own). */
export async function startTestSentinelGroup(settings: RedisSettings = {}): Promise<TestSentinelGroup> {
  const primary = await startTestRedis(settings);
  const replica = await startTestRedis({ ...settings, replicaof: `127.0.0.1 ${primary.port}` });
  await until('the replica to sync', async () => {
    const info = await ask(replica.port, (r) => r.info('replication'));
    return info.includes('master_link_status:up') ? true : undefined;
  });
  const sentinels: TestSentinelGroup['sentinels'] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    sentinels.push({ port, process: startSentinel(primary.dir, port, primary.port) });
  }
  // Sentinels find the replica and each other through the primary within a few seconds.
  for (const s of sentinels) {
    await until(`sentinel ${s.port} to see the replica and the other sentinels`, async () => {
      const [replicas, others] = await ask(s.port, async (r) => [
        (await r.call('SENTINEL', 'REPLICAS', MASTER)) as unknown[],
        (await r.call('SENTINEL', 'SENTINELS', MASTER)) as unknown[],
      ]);
      return replicas.length === 1 && others.length === 2 ? true : undefined;
    });
  }
  const stopSentinel = (s: { process: ChildProcess }) =>
    new Promise<void>((resolve) => {
      if (s.process.exitCode !== null || s.process.signalCode !== null) return resolve();
      s.process.once('exit', () => resolve());
      s.process.kill('SIGTERM');
    });
  return {
    masterName: MASTER,
    primary,
    replica,
    sentinels,
    env: {
      REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      REDIS_SENTINEL_MASTER: MASTER,
    },
    async primaryAddress() {
      const [host, port] = (await ask(sentinels[0].port, (r) =>
        r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER),
      )) as string[];
      return `${host}:${port}`;
    },
    async stop() {
      await Promise.all(sentinels.map(stopSentinel));
      await replica.stop();
      await primary.stop();
    },
  };
}
