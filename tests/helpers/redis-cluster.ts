import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { startTestRedis, type TestRedis } from './redis-server';
import type { RedisDeployment } from './stack';

/** A Redis Cluster of three masters (no replicas) on loopback, every node a real redis-server. */
export interface TestCluster extends RedisDeployment {
  nodes: TestRedis[];
  /** `node port -> keys it holds`, to see where darkroom's keys went. */
  keysPerNode(): Promise<Map<number, string[]>>;
}

export async function startTestCluster(): Promise<TestCluster> {
  const nodes: TestRedis[] = [];
  try {
    for (let i = 0; i < 3; i++)
      nodes.push(
        await startTestRedis({
          'cluster-enabled': 'yes',
          'cluster-config-file': 'nodes.conf',
          'cluster-node-timeout': '2000',
        }),
      );
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    // Every node must agree that all 16384 slots are served before clients connect.
    const deadline = Date.now() + 30_000;
    for (const node of nodes) {
      const client = new Redis(node.url, { maxRetriesPerRequest: 1 });
      try {
        while (!(await client.cluster('INFO')).includes('cluster_state:ok')) {
          if (Date.now() > deadline) throw new Error(`cluster node ${node.port} never reached cluster_state:ok`);
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        client.disconnect();
      }
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  return {
    nodes,
    env: { REDIS_CLUSTER_NODES: nodes.map((n) => `127.0.0.1:${n.port}`).join(',') },
    async keysPerNode() {
      const out = new Map<number, string[]>();
      for (const node of nodes) {
        const client = new Redis(node.url, { maxRetriesPerRequest: 1 });
        out.set(node.port, await client.keys('*').finally(() => client.disconnect()));
      }
      return out;
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
