import { Redis } from 'ioredis';
import { createReplicaFence } from '../../src/redis/replica-fence';
import { startTestRedis, type TestRedis } from '../helpers/redis-server';

/**
 * REDIS_WAIT_REPLICAS' fence on a real primary and replica: one write of its own then WAIT covers
 * writes other connections made before; callers arriving while a fence is out share the next one.
 */
let primary: TestRedis;
let replica: TestRedis;
let writer: Redis;
beforeAll(async () => {
  primary = await startTestRedis();
  replica = await startTestRedis({ replicaof: `127.0.0.1 ${primary.port}` });
  writer = new Redis(primary.url);
  const probe = new Redis(replica.url);
  while (!(await probe.info('replication')).includes('master_link_status:up'))
    await new Promise((r) => setTimeout(r, 50));
  probe.disconnect();
});
afterAll(async () => {
  writer?.disconnect();
  await replica?.stop();
  await primary?.stop();
});

test('a fence covers earlier writes of another connection, and concurrent callers share fences', async () => {
  const connection = new Redis(primary.url);
  const monitor = new Redis(primary.url);
  const fence = createReplicaFence(connection, 'test:fence', 1, 2000);
  try {
    await writer.set('job', 'x');
    expect(await fence.wait()).toBe(1);
    const replicaClient = new Redis(replica.url);
    expect(await replicaClient.get('job')).toBe('x');
    replicaClient.disconnect();

    const before = Number(await monitor.get('test:fence'));
    const copies = await Promise.all(Array.from({ length: 20 }, () => fence.wait()));
    expect(copies).toEqual(Array(20).fill(1));
    // The first caller starts a fence, the 19 others share the one after it.
    expect(Number(await monitor.get('test:fence')) - before).toBe(2);
  } finally {
    fence.close();
    monitor.disconnect();
  }
});
