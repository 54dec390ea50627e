import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { BenchOptions } from './bench-options';
import { cpuBetween, snapshot, type CpuUse } from './cpu-monitor';
import { submitAndWait } from './darkroom-client';
import { startDarkroomStack, type DarkroomStack, type WorkerStats } from './darkroom-stack';
import { summarize, type LatencySummary } from './latency-stats';
import { runClosedLoop, startProbe, type RequestOutcome } from './load-generators';
import { answers, freePort, launchNode, waitUntil, type Launched } from './process-launcher';
import type { BenchRedis } from './redis-launcher';
import type { Workload } from './workloads';

export type SystemName = 'darkroom' | 'darkroom, batching off' | 'naive server';

/** One closed-loop run of one system at one client count. */
export interface EndToEndRun {
  system: SystemName;
  clients: number;
  /** Length of the measured window. */
  seconds: number;
  imagesPerSecond: number;
  requests: number;
  errors: number;
  firstError?: string;
  /** Submit -> result in the client's hands. */
  latency: LatencySummary;
  /** darkroom: submit -> job finished in Redis (no polling delay). */
  ready?: LatencySummary;
  /** GET /healthz at a fixed rate during the run (only at the largest client count). */
  health?: LatencySummary;
  healthErrors?: number;
  /** p99 event-loop delay of the benchmark process (the clients) during the run, ms. */
  clientLagP99: number;
  /** Items per session.run of the model's main graph during the run (darkroom). */
  meanBatch?: number;
  /**
   * darkroom: the worker's CPU time per image outside session.run, ms: its process CPU minus the
   * CPU its inference threads spent in session.run, over the images its model's output graph made.
   */
  workerCpuOutsideRunMs?: number;
  /** darkroom: full collections of the worker's main-thread heap per 1,000 images, over the same heartbeats. */
  workerMajorGcsPer1000?: number;
  pollsPerSecond?: number;
  cpu: CpuUse;
}

export interface EndToEndResult {
  model: string;
  runs: EndToEndRun[];
}

/** The runner whose batches show what batching does: the model itself, or a pipeline's UNet. */
const mainRunner = (model: string) => (model === 'demo-diffusion' ? 'demo-diffusion/unet' : model);
/** The runner that runs once per image: the model itself, or a pipeline's VAE decoder. */
const imageRunner = (model: string) => (model === 'demo-diffusion' ? 'demo-diffusion/vae_decoder' : model);

/** Images the model's output graph made between two heartbeat readings. */
const imagesBetween = (before: WorkerStats, after: WorkerStats, model: string) =>
  (after.runners.get(imageRunner(model))?.items ?? 0) - (before.runners.get(imageRunner(model))?.items ?? 0);

/** Worker CPU per image outside session.run between two heartbeat readings (see EndToEndRun). */
function cpuOutsideRunPerImage(before: WorkerStats, after: WorkerStats, model: string): number | undefined {
  const images = imagesBetween(before, after, model);
  if (images <= 0) return undefined;
  const inRuns = (s: WorkerStats) =>
    [...s.runners]
      .filter(([name]) => name === model || name.startsWith(`${model}/`))
      .reduce((t, [, r]) => t + r.cpuMs, 0);
  return (after.processCpuMs - before.processCpuMs - (inRuns(after) - inRuns(before))) / images;
}

/** Full collections of the worker's main-thread heap per 1,000 images between two heartbeat readings. */
function majorGcsPer1000(before: WorkerStats, after: WorkerStats, model: string): number | undefined {
  const images = imagesBetween(before, after, model);
  if (images <= 0 || after.majorGcs === undefined || before.majorGcs === undefined) return undefined;
  return (1000 * (after.majorGcs - before.majorGcs)) / images;
}

interface Target {
  system: SystemName;
  url: string;
  procs: { name: string; pid: number }[];
  request(seq: number): Promise<RequestOutcome>;
  stack?: DarkroomStack;
}

async function naiveRequest(url: string, workload: Workload, seq: number): Promise<RequestOutcome> {
  const { path, init } = workload.naive(seq);
  const start = performance.now();
  const res = await fetch(url + path, init);
  const body = (await res.json()) as { images?: unknown[]; predictions?: unknown[]; error?: { message: string } };
  if (!res.ok) throw new Error(`naive server: HTTP ${res.status} ${body.error?.message ?? ''}`);
  return { images: body.images?.length ?? body.predictions?.length ?? 0, latencyMs: performance.now() - start };
}

async function measure(
  target: Target,
  clients: number,
  options: BenchOptions,
  withHealth: boolean,
  model: string,
): Promise<EndToEndRun> {
  const runner = mainRunner(model);
  const statsBefore = await target.stack?.workerStats();
  const before = snapshot(target.procs);
  const probe = withHealth ? startProbe(`${target.url}/healthz`, options.healthRate) : undefined;
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  // At least two results per client in the window, so a short run still measures a steady state.
  const result = await runClosedLoop(
    clients,
    options.warmupSeconds * 1000,
    options.runSeconds * 1000,
    (_client, seq) => target.request(seq),
    2 * clients,
  );
  lag.disable();
  const health = await probe?.stop();
  const cpu = cpuBetween(before, snapshot(target.procs));
  // Heartbeats are written every 2 s: wait for one that covers the end of the run.
  if (target.stack) await new Promise((r) => setTimeout(r, 2100));
  const statsAfter = await target.stack?.workerStats();
  const b = statsBefore?.runners.get(runner);
  const a = statsAfter?.runners.get(runner);
  return {
    system: target.system,
    clients,
    seconds: result.seconds,
    imagesPerSecond: result.images / result.seconds,
    requests: result.requests,
    errors: result.errors,
    firstError: result.firstError,
    latency: summarize(result.latencies),
    ready: result.ready.length ? summarize(result.ready) : undefined,
    health: health ? summarize(health.fromSend) : undefined,
    healthErrors: health?.errors,
    clientLagP99: lag.percentile(99) / 1e6,
    meanBatch: a && b && a.runs > b.runs ? (a.items - b.items) / (a.runs - b.runs) : undefined,
    workerCpuOutsideRunMs:
      statsBefore && statsAfter ? cpuOutsideRunPerImage(statsBefore, statsAfter, model) : undefined,
    workerMajorGcsPer1000: statsBefore && statsAfter ? majorGcsPer1000(statsBefore, statsAfter, model) : undefined,
    pollsPerSecond: target.stack ? result.polls / result.seconds : undefined,
    cpu,
  };
}

function darkroomTarget(
  system: SystemName,
  stack: DarkroomStack,
  workload: Workload,
  options: BenchOptions,
  procs: Target['procs'],
): Target {
  return {
    system,
    url: stack.url,
    stack,
    procs,
    request: (seq) => submitAndWait(stack.url, workload.darkroom(seq), options.clientMode, options.pollMs),
  };
}

/** Starts the naive server with `models` (comma-separated) and waits until it answers. */
async function startNaiveServer(models: string): Promise<{ url: string; proc: Launched }> {
  const port = await freePort();
  const proc = launchNode('naive server', 'scripts/bench/naive-server.js', {
    ...process.env,
    NAIVE_PORT: String(port),
    NAIVE_MODELS: models,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil('the naive server to answer /healthz', proc, () => answers(`${url}/healthz`), 120_000);
  return { url, proc };
}

/** The three systems under test, started once and idle between their runs. */
export interface Systems {
  batching: DarkroomStack;
  unbatched: DarkroomStack;
  naive: { url: string; proc: Launched };
  stop(): Promise<void>;
}

/**
 * darkroom with the manifests' batching, darkroom with MAX_BATCH_SIZE=1 (its own API, worker and
 * queue prefix on the same Redis) and the naive server with every model: all up at once, so the
 * runs of one model can follow each other closely whatever the machine's background load does.
 */
export async function startSystems(redis: BenchRedis, workloads: Workload[], options: BenchOptions): Promise<Systems> {
  const settings = options;
  await redis.flush();
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop();
  };
  try {
    const batching = await startDarkroomStack(redis, settings, 1, 'darkroom');
    started.push(batching);
    const unbatched = await startDarkroomStack(redis, settings, 0, 'darkroom-unbatched');
    started.push(unbatched);
    await unbatched.startWorker({ MAX_BATCH_SIZE: '1' });
    const naive = await startNaiveServer(workloads.map((w) => w.model).join(','));
    started.push(naive.proc);
    return { batching, unbatched, naive, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Every process of the systems, named for the CPU table; `active` ones by role, the rest as idle. */
function processesOf(systems: Systems, redis: BenchRedis, active: 'batching' | 'unbatched' | 'naive') {
  const stackProcs = (stack: DarkroomStack, live: boolean) => [
    { name: live ? 'API' : 'idle servers', pid: stack.api.pid },
    ...stack.workers.map((w) => ({ name: live ? 'worker' : 'idle servers', pid: w.pid })),
  ];
  return [
    ...stackProcs(systems.batching, active === 'batching'),
    ...stackProcs(systems.unbatched, active === 'unbatched'),
    { name: active === 'naive' ? 'naive server' : 'idle servers', pid: systems.naive.proc.pid },
    { name: 'redis', pid: redis.proc.pid },
  ];
}

/**
 * One model: darkroom and the naive server back to back at every client count, darkroom with
 * batching off at the largest; each system warmed first.
 */
export async function measureModel(
  systems: Systems,
  redis: BenchRedis,
  workload: Workload,
  options: BenchOptions,
  log: (line: string) => void,
): Promise<EndToEndRun[]> {
  const on = darkroomTarget('darkroom', systems.batching, workload, options, processesOf(systems, redis, 'batching'));
  const off = darkroomTarget(
    'darkroom, batching off',
    systems.unbatched,
    workload,
    options,
    processesOf(systems, redis, 'unbatched'),
  );
  const naive: Target = {
    system: 'naive server',
    url: systems.naive.url,
    procs: processesOf(systems, redis, 'naive'),
    request: (seq) => naiveRequest(systems.naive.url, workload, seq),
  };
  const maxClients = Math.max(...options.concurrency);
  if (options.extraWarmupSeconds) {
    for (const t of [on, off, naive])
      await runClosedLoop(maxClients, 0, options.extraWarmupSeconds * 1000, (_c, seq) => t.request(seq));
  }
  const runs: EndToEndRun[] = [];
  for (const clients of options.concurrency) {
    for (const target of clients === maxClients ? [on, naive, off] : [on, naive]) {
      const run = await measure(target, clients, options, clients === maxClients, workload.model);
      runs.push(run);
      const health = run.health ? `, healthz p99 ${run.health.p99.toFixed(1)} ms` : '';
      log(
        `  ${workload.model} ${target.system}, ${clients} clients: ${run.imagesPerSecond.toFixed(1)} images/s, p99 ${run.latency.p99.toFixed(0)} ms${run.meanBatch ? `, mean batch ${run.meanBatch.toFixed(1)}` : ''}${health}${run.errors ? `, ${run.errors} errors (${run.firstError})` : ''}`,
      );
    }
  }
  return runs;
}
