import { performance } from 'node:perf_hooks';
import type { BenchOptions } from './bench-options';
import { cpuBetween, snapshot, type CpuUse } from './cpu-monitor';
import { startDarkroomStack } from './darkroom-stack';
import { summarize, type LatencySummary } from './latency-stats';
import { runClosedLoop, runOpenLoop } from './load-generators';
import type { BenchRedis } from './redis-launcher';

export interface ApiResult {
  post: {
    rate: number;
    seconds: number;
    sent: number;
    errors: number;
    errorKinds: Record<string, number>;
    fromSchedule: LatencySummary;
    fromSend: LatencySummary;
    maxLateness: number;
    cpu: CpuUse;
  };
  read: {
    connections: number;
    seconds: number;
    requestsPerSecond: number;
    errors: number;
    firstError?: string;
    latency: LatencySummary;
    cpu: CpuUse;
  };
}

const generationBody = (seed: number) => JSON.stringify({ model: 'omori-sprite-gan', n: 1, seed });

async function post(url: string, seed: number): Promise<string> {
  const res = await fetch(`${url}/v1/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: generationBody(seed),
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`POST /v1/generations answered ${res.status}: ${text.slice(0, 200)}`);
  return (JSON.parse(text) as { id: string }).id;
}

/**
 * API + Redis with no worker, so only the submit and read paths are measured: POST
 * /v1/generations open loop at a fixed rate, then GET /v1/jobs/{id} closed loop on the jobs made.
 */
export async function measureApi(redis: BenchRedis, options: BenchOptions): Promise<ApiResult> {
  await redis.flush();
  const stack = await startDarkroomStack(redis, options, 0);
  const procs = [
    { name: 'API', pid: stack.api.pid },
    { name: 'redis', pid: redis.proc.pid },
  ];
  try {
    const ids: string[] = [];
    // Warm-up: connections, JIT, BullMQ's Lua scripts.
    for (let i = 0; i < 200; i++) ids.push(await post(stack.url, i));

    let before = snapshot(procs);
    const open = await runOpenLoop(options.apiRate, options.apiSeconds, async (i) => {
      ids.push(await post(stack.url, 10_000 + i));
    });
    const postCpu = cpuBetween(before, snapshot(procs));

    before = snapshot(procs);
    const read = await runClosedLoop(options.readConnections, 500, options.readSeconds * 1000, async (_c, seq) => {
      const id = ids[(seq * 7919) % ids.length];
      const t = performance.now();
      const res = await fetch(`${stack.url}/v1/jobs/${id}`);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET /v1/jobs/${id} answered ${res.status}`);
      return { images: 0, latencyMs: performance.now() - t };
    });
    const readCpu = cpuBetween(before, snapshot(procs));
    return {
      post: {
        rate: options.apiRate,
        seconds: options.apiSeconds,
        sent: open.sent,
        errors: open.errors,
        errorKinds: open.errorKinds,
        fromSchedule: summarize(open.fromSchedule),
        fromSend: summarize(open.fromSend),
        maxLateness: open.maxLateness,
        cpu: postCpu,
      },
      read: {
        connections: options.readConnections,
        seconds: read.seconds,
        requestsPerSecond: read.requests / read.seconds,
        errors: read.errors,
        firstError: read.firstError,
        latency: summarize(read.latencies),
        cpu: readCpu,
      },
    };
  } finally {
    await stack.stop();
  }
}
