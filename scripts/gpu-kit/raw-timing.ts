import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import type { TensorData } from '../../workers/runtime/tensor-data';
import { CASE_MARKER, timingCases, type BatchTiming, type CaseTiming, type TimingPlan } from './timing-cases';

/**
 * A child process of the kit runner: raw session.run timings of every timing case on ONE execution
 * provider, with onnxruntime-node directly (as bench/inline-model.ts does), no darkroom in
 * between. A child, because a GPU provider can crash or hang its process; the runner keeps what
 * it printed. Prints one JSON line per case on stdout. Before each session it writes a marker on
 * stderr, so the runner can attribute onnxruntime's node-placement log lines to a graph.
 */
const toOrt = (t: TensorData) => new ort.Tensor(t.type, t.data as never, t.dims);
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function timeBatch(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>, output: string, plan: TimingPlan, file: string): Promise<Omit<BatchTiming, 'batch'>> {
  let t = performance.now();
  const first = await session.run(feeds, [output]);
  const firstMs = performance.now() - t;
  const out = first[output];
  fs.writeFileSync(file, Buffer.from((out.data as Float32Array).buffer, (out.data as Float32Array).byteOffset, (out.data as Float32Array).byteLength));
  for (let i = 0; i < 2; i++) await session.run(feeds, [output]);
  const times: number[] = [];
  const until = performance.now() + plan.seconds * 1000;
  while (times.length < 3 || (performance.now() < until && times.length < 200)) {
    t = performance.now();
    await session.run(feeds, [output]);
    times.push(performance.now() - t);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return { first_ms: round(firstMs), runs: times.length, median_ms: round(quantile(sorted, 0.5)), p90_ms: round(quantile(sorted, 0.9)), mean_ms: round(times.reduce((a, b) => a + b, 0) / times.length), output_file: file, output_dims: [...out.dims] };
}

async function main() {
  const plan = JSON.parse(process.argv[2]) as TimingPlan;
  // Verbose onnxruntime logs name the WebGPU adapter and where each node was placed; the runner filters them.
  ort.env.logLevel = plan.provider === 'cpu' ? 'warning' : 'verbose';
  fs.mkdirSync(plan.outDir, { recursive: true });
  for (const c of timingCases(plan.kit)) {
    const result: CaseTiming = { name: c.name, provider: plan.provider, batches: [] };
    process.stderr.write(`${CASE_MARKER}${c.name}\n`);
    let session: ort.InferenceSession | undefined;
    const t = performance.now();
    try {
      session = await ort.InferenceSession.create(c.file, { executionProviders: [plan.provider], graphOptimizationLevel: 'all', intraOpNumThreads: plan.threads, logSeverityLevel: 0, logVerbosityLevel: 0 });
      result.load_ms = Math.round(performance.now() - t);
    } catch (err) {
      result.load_error = (err as Error).message;
    }
    if (session) {
      for (const batch of c.batches) {
        const feeds = Object.fromEntries(Object.entries(c.feeds(batch)).map(([k, v]) => [k, toOrt(v)]));
        const file = path.join(plan.outDir, `${c.name.replace(/\W+/g, '_')}-b${batch}.f32`);
        try {
          result.batches.push({ batch, ...(await timeBatch(session, feeds, c.output, plan, file)) });
        } catch (err) {
          result.batches.push({ batch, first_ms: 0, runs: 0, median_ms: 0, p90_ms: 0, mean_ms: 0, error: (err as Error).message });
        }
      }
      await session.release();
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`raw timing failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
