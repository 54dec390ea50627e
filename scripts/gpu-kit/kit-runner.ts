import fs from 'node:fs';
import path from 'node:path';
import { cleanupAll } from '../bench/cleanup';
import { startBenchRedis, type BenchRedis } from '../bench/redis-launcher';
import { defaultIntraOpThreads } from '../../workers/runtime/intra-op-threads';
import { accuracy, compareJobs, compareRawOutputs, type Expected } from './kit-compare';
import { runKitJobs, type JobOutcome } from './kit-jobs';
import { DEFAULT_PROVIDERS, kitPaths } from './kit-layout';
import { machineFacts, onnxruntimeFacts } from './kit-machine';
import { writeReports, type KitReport, type ProviderResult, type SpeedRow } from './kit-report';
import { startKitStack, type KitStack } from './kit-stack';
import { runTimingChild } from './timing-child';

/**
 * The GPU kit's runner (run.sh starts it with the kit's Node): for each execution provider in turn
 * (cuda, webgpu, cpu by default) it times raw session.run per graph and batch size in a child
 * process, then, if the provider loaded, runs the fixed job set through darkroom (API + one worker
 * on that provider), and finally compares everything with the CPU run. It always writes
 * gpu-report.json and gpu-report.md and exits 0: what failed is in the report.
 *
 *   node kit-runner.js --kit DIR --out DIR [--providers cuda,webgpu,cpu] [--setup FILE] [--deadline-s 480] [--case-seconds 1]
 */

/** Time kept back for a CPU run that comes later, so a GPU provider that hangs cannot leave the run without its reference. */
const CPU_RESERVE_MS = 150_000;
/** Longest raw-timing child of one provider. */
const TIMING_TIMEOUT_MS = 180_000;

/** A classification top-1 flip, or a generated image further than this from the CPU's (per 8-bit value), is listed as a failure. */
const MAX_PIXEL_DIFF_OK = 8;

function parseArgs(argv: string[]) {
  const arg = (name: string, fallback?: string) => {
    const i = argv.indexOf(`--${name}`);
    const v = i >= 0 ? argv[i + 1] : fallback;
    if (v === undefined) throw new Error(`kit-runner: --${name} is required`);
    return v;
  };
  return {
    kit: path.resolve(arg('kit')),
    out: path.resolve(arg('out')),
    providers: arg('providers', DEFAULT_PROVIDERS.join(',')).split(',').map((p) => p.trim()).filter(Boolean),
    setup: arg('setup', ''),
    deadlineS: Number(arg('deadline-s', '480')),
    caseSeconds: Number(arg('case-seconds', '1')),
  };
}

const log = (line: string) => process.stdout.write(`[kit] ${line}\n`);

async function runProvider(name: string, ctx: { kit: string; stack?: KitStack; stackError?: string; deadline: number; caseSeconds: number; failures: string[] }): Promise<{ result: ProviderResult; jobs: JobOutcome[] }> {
  const p = kitPaths(ctx.kit);
  const result: ProviderResult = { name, status: 'ran', timing: [], placements: {}, log_lines: [] };
  const fail = (what: string) => ctx.failures.push(`${name}: ${what}`);
  const left = ctx.deadline - Date.now();
  if (left < 30_000) {
    result.status = 'skipped';
    result.error = `too little time left before the run's deadline (--deadline-s ${Math.round((ctx.deadline - Date.now()) / 1000)} s left${name === 'cpu' ? '' : ', time is kept back for the CPU reference'})`;
    fail(result.error);
    return { result, jobs: [] };
  }
  log(`${name}: raw session.run timings...`);
  const timing = await runTimingChild(p.node, p.dist, { provider: name, kit: ctx.kit, outDir: path.join(p.work, 'raw', name), seconds: ctx.caseSeconds, threads: defaultIntraOpThreads() }, Math.min(TIMING_TIMEOUT_MS, left - 20_000));
  Object.assign(result, { timing: timing.cases, placements: timing.placements, log_lines: timing.log_lines });
  if (timing.ended !== 'exit 0') fail(`the raw-timing process ended: ${timing.ended} (after ${timing.cases.length} graphs)`);
  const loaded = timing.cases.filter((c) => !c.load_error);
  if (!loaded.length) {
    result.status = 'did not load';
    result.error = timing.cases[0]?.load_error ?? `no session was created (${timing.ended})`;
    result.tried = { session_options: { executionProviders: [name], graphOptimizationLevel: 'all' }, graphs: timing.cases.map((c) => c.name), ...onnxruntimeFacts().library_search };
    fail(`did not load: ${result.error}`);
    return { result, jobs: [] };
  }
  for (const c of timing.cases) {
    if (c.load_error) fail(`${c.name} did not load: ${c.load_error}`);
    for (const b of c.batches) if (b.error) fail(`${c.name} batch ${b.batch}: ${b.error}`);
  }
  if (!ctx.stack) {
    result.status = 'failed';
    result.error = `darkroom did not start: ${ctx.stackError}`;
    return { result, jobs: [] };
  }
  log(`${name}: darkroom worker and jobs...`);
  const providers = name === 'cpu' ? ['cpu'] : [name, 'cpu'];
  let jobs: JobOutcome[] = [];
  try {
    const { worker, models } = await ctx.stack.startWorker(providers, Math.max(30_000, Math.min(240_000, ctx.deadline - Date.now())));
    result.worker = models;
    for (const [model, ep] of Object.entries(models.providers)) if (ep !== name) fail(`the worker runs ${model} on ${ep}, not ${name}`);
    jobs = await runKitJobs(ctx.stack.url, ctx.kit, ctx.deadline - 10_000, log);
    result.worker.log_tail = worker.output().slice(-4000);
    await worker.stop();
  } catch (err) {
    result.status = 'failed';
    result.worker = { providers: {}, fallbacks: [], error: (err as Error).message.slice(0, 4000) };
    fail(`the worker failed: ${(err as Error).message.slice(0, 1000)}`);
  }
  for (const j of jobs) if (j.status !== 'succeeded') fail(`job ${j.key} ${j.status}: ${j.error}`);
  result.jobs = jobs.map(({ images: _images, ...rest }) => rest);
  return { result, jobs };
}

function speedRows(cpu: ProviderResult, other: ProviderResult): SpeedRow[] {
  return other.timing.flatMap((c) =>
    c.batches.flatMap((b) => {
      const ref = cpu.timing.find((t) => t.name === c.name)?.batches.find((x) => x.batch === b.batch);
      if (!ref || b.error || ref.error || !b.median_ms) return [];
      return [{ name: c.name, batch: b.batch, cpu_median_ms: ref.median_ms, median_ms: b.median_ms, speedup: Math.round((ref.median_ms / b.median_ms) * 100) / 100 }];
    }),
  );
}

async function main() {
  const started = Date.now();
  const args = parseArgs(process.argv.slice(2));
  const p = kitPaths(args.kit);
  const deadline = started + args.deadlineS * 1000;
  const failures: string[] = [];
  const report: KitReport = {
    ok: false,
    generated_at: new Date(started).toISOString(),
    duration_s: 0,
    providers_requested: args.providers,
    kit: fs.existsSync(p.info) ? JSON.parse(fs.readFileSync(p.info, 'utf8')) : { error: 'kit.json missing' },
    machine: machineFacts(args.setup),
    onnxruntime: onnxruntimeFacts(),
    providers: [],
    failures,
  };
  const finish = () => {
    report.duration_s = (Date.now() - started) / 1000;
    report.ok = failures.length === 0;
    const files = writeReports(args.out, report);
    log(`${report.ok ? 'nothing failed' : `${failures.length} failure(s)`}; reports: ${files.join(', ')} (${report.duration_s.toFixed(0)} s)`);
  };
  process.on('SIGTERM', () => {
    failures.push('the runner was stopped (SIGTERM) before it finished');
    finish();
    void cleanupAll().finally(() => process.exit(0));
  });
  let redis: BenchRedis | undefined;
  let stack: KitStack | undefined;
  let stackError: string | undefined;
  try {
    log(`providers: ${args.providers.join(', ')}; deadline ${args.deadlineS} s`);
    try {
      redis = await startBenchRedis();
      stack = await startKitStack(args.kit, redis);
    } catch (err) {
      stackError = (err as Error).message.slice(0, 4000);
      failures.push(`darkroom did not start: ${stackError}`);
    }
    const jobsBy = new Map<string, JobOutcome[]>();
    for (const [i, name] of args.providers.entries()) {
      const cpuLater = args.providers.indexOf('cpu') > i;
      const ctx = { kit: args.kit, stack, stackError, deadline: cpuLater ? deadline - CPU_RESERVE_MS : deadline, caseSeconds: args.caseSeconds, failures };
      const { result, jobs } = await runProvider(name, ctx);
      report.providers.push(result);
      jobsBy.set(name, jobs);
      log(`${name}: ${result.status}${result.error ? ` - ${result.error.split('\n')[0].slice(0, 300)}` : ''}`);
    }
    const expected = JSON.parse(fs.readFileSync(path.join(p.photos, 'expected.json'), 'utf8')) as Expected;
    const cpu = report.providers.find((r) => r.name === 'cpu' && r.status === 'ran');
    for (const r of report.providers) {
      const jobs = jobsBy.get(r.name) ?? [];
      if (jobs.some((j) => j.top1)) r.accuracy = accuracy(jobs, expected);
      if (!cpu || r === cpu || r.status !== 'ran') continue;
      r.vs_cpu = { jobs: compareJobs(jobsBy.get('cpu') ?? [], jobs), raw: compareRawOutputs(cpu.timing, r.timing), speed: speedRows(cpu, r) };
      for (const c of r.vs_cpu.jobs) {
        if (c.top1_differs?.length) failures.push(`${r.name}: ${c.key}: top-1 differs from the CPU's for ${c.top1_differs.map((d) => d.photo).join(', ')}`);
        if ((c.max_pixel_diff ?? 0) > MAX_PIXEL_DIFF_OK) failures.push(`${r.name}: ${c.key}: pixels differ from the CPU's by up to ${c.max_pixel_diff} (mean ${c.mean_pixel_diff})`);
        if (c.note && !c.note.startsWith('not compared')) failures.push(`${r.name}: ${c.key}: ${c.note}`);
      }
    }
  } catch (err) {
    failures.push(`the runner failed: ${(err as Error).stack ?? (err as Error).message}`);
  }
  await stack?.stop().catch(() => undefined);
  await redis?.stop().catch(() => undefined);
  await cleanupAll();
  finish();
}

main().catch((err) => {
  process.stderr.write(`kit-runner: ${(err as Error).stack}\n`);
  process.exit(1);
});
