import type { RedisClient } from '../../src/redis/redis-connection';
import os from 'node:os';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { Config } from '../../src/config';
import { removeHeartbeat, writeHeartbeat } from '../../src/jobs/worker-directory';
import type { Logger } from '../../src/logger';
import type { ResultCache } from '../cache/result-cache';
import type { ModelRegistry } from '../model-registry';
import { atStop, type Component, type Resource } from './component';

const INTERVAL_MS = 2000;
/** A record outlives a few missed beats, not a dead process. */
const TTL_SECONDS = 15;

export interface HeartbeatDeps {
  config: Pick<Config, 'worker' | 'redis'>;
  logger: Logger;
  id: string;
  redis: Resource<RedisClient>;
  registry: Resource<ModelRegistry>;
  cache: ResultCache;
  /** What the fleet routes by: queues consumed, models served and models loaded now. */
  fleet(): { queues: string[]; serves: string[]; loaded: string[]; resident_mb: number };
}

/**
 * The heartbeat tells operators (and tests) which workers are alive, what they run on, and how
 * long the event loop was blocked: inference runs on threads, so this must stay small. Two
 * components for its two ends: `beat` starts once the process takes work and stops when it stops
 * taking work (a draining worker's record ages); `record` removes the record once the process has
 * drained, so it belongs before the queue workers in the list.
 */
/** User plus system CPU time of this process, ms. */
const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * Full (mark-compact) collections of the main thread's heap so far, and their time. Several a
 * second under load mean something allocates buffers per job: V8 counts each new ArrayBuffer as
 * external memory, and enough of it starts a full collection however small the heap is.
 */
export function majorCollections(): { totals: { count: number; ms: number }; stop(): void } {
  const totals = { count: 0, ms: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { detail } = entry as unknown as { detail?: { kind?: number } };
      if (detail?.kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      totals.count += 1;
      totals.ms += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return { totals, stop: () => observer.disconnect() };
}

export function heartbeat(deps: HeartbeatDeps): { record: Component; beat: Component } {
  const { config, logger, id } = deps;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  const gc = majorCollections();
  const startedAt = new Date().toISOString();
  let timer: NodeJS.Timeout | undefined;

  const beatOnce = async () => {
    const info = {
      id,
      pid: process.pid,
      host: os.hostname(),
      started_at: startedAt,
      ...deps.fleet(),
      concurrency: config.worker.concurrency,
      models: deps.registry.value.runners().map((r) => ({ name: r.name, provider: r.provider, ...r.stats() })),
      // Since the previous heartbeat.
      event_loop_max_ms: Number((lag.max / 1e6).toFixed(1)),
      event_loop_p99_ms: Number((lag.percentile(99) / 1e6).toFixed(1)),
      cache: deps.cache.stats(),
      // The process's CPU time so far, read with the runners' stats: their difference is the CPU
      // spent outside session.run (npm run bench reports it per image).
      cpu_ms: Math.round(cpuMs()),
      // Full collections of the main thread's heap so far, and the ms they took on it.
      gc_major: gc.totals.count,
      gc_major_ms: Math.round(gc.totals.ms),
    };
    lag.reset();
    logger.debug(info, 'heartbeat');
    await writeHeartbeat(deps.redis.value, config.redis.prefix, id, info, TTL_SECONDS).catch((err: Error) =>
      logger.debug({ err: err.message }, 'heartbeat not written (Redis away?); the next one tries again'),
    );
  };

  const record = atStop('heartbeat record', async () => {
    await removeHeartbeat(deps.redis.value, config.redis.prefix, id).catch((err: Error) =>
      logger.debug(
        { err: err.message },
        `heartbeat record not removed (Redis away?); it expires within ${TTL_SECONDS} s`,
      ),
    );
    lag.disable();
    gc.stop();
  });
  const beat: Component = {
    name: 'heartbeat',
    async start() {
      lag.enable();
      await beatOnce();
      timer = setInterval(() => void beatOnce(), INTERVAL_MS);
    },
    async stop() {
      clearInterval(timer);
    },
  };
  return { record, beat };
}
