import type { RedisClient } from './redis-connection';

/**
 * Waits until replicas hold every write made so far, by anyone: Redis WAIT counts the replicas
 * that acknowledged the replication stream up to this connection's last write, and that stream is
 * one ordered log, so one small write of our own followed by WAIT covers every earlier write of
 * every connection. WAIT blocks its connection (up to the timeout when replicas are missing), so
 * it runs on one of its own, and callers share fences: one that arrives while a fence is out waits
 * for the next, so a lost replica costs each request at most two timeouts, not a queue of them.
 */
export interface ReplicaFence {
  /** Resolves with how many replicas acknowledged every write made before the call. */
  wait(): Promise<number>;
  close(): void;
}

export function createReplicaFence(
  connection: RedisClient,
  key: string,
  replicas: number,
  timeoutMs: number,
): ReplicaFence {
  let running: Promise<number> | undefined;
  let queued: Promise<number> | undefined;
  const fence = async () => {
    await connection.incr(key);
    return connection.wait(replicas, timeoutMs);
  };
  const start = (): Promise<number> => {
    const p = fence();
    running = p;
    const clear = () => {
      if (running === p) running = undefined;
    };
    p.then(clear, clear);
    return p;
  };
  return {
    wait() {
      if (!running) return start();
      // The fence out now may have been written before this caller's writes: wait for the next one.
      queued ??= running
        .catch(() => undefined)
        .then(() => {
          queued = undefined;
          return start();
        });
      return queued;
    },
    close: () => connection.disconnect(),
  };
}
