import fs from 'node:fs';
import path from 'node:path';
import type { JobComparison, RawComparison } from './kit-compare';
import type { JobOutcome } from './kit-jobs';
import type { WorkerModels } from './kit-stack';
import type { CaseTiming } from './timing-cases';

/** One execution provider's results. A provider that will not load is a result too: its error and what was tried. */
export interface ProviderResult {
  name: string;
  status: 'ran' | 'did not load' | 'skipped' | 'failed';
  error?: string;
  tried?: Record<string, unknown>;
  timing: CaseTiming[];
  /** Graph -> execution provider -> nodes onnxruntime placed there (its verbose "Node placements" log). */
  placements: Record<string, Record<string, number>>;
  /** onnxruntime's and Dawn's own lines worth reading (errors, warnings, the WebGPU adapter). */
  log_lines: string[];
  worker?: WorkerModels & { error?: string; log_tail?: string };
  jobs?: Omit<JobOutcome, 'images'>[];
  accuracy?: { correct: number; total: number };
  vs_cpu?: { jobs: JobComparison[]; raw: RawComparison[]; speed: SpeedRow[] };
}

export interface SpeedRow {
  name: string;
  batch: number;
  cpu_median_ms: number;
  median_ms: number;
  /** cpu_median_ms / median_ms: above 1, faster than the CPU. */
  speedup: number;
}

export interface KitReport {
  /** True when nothing in `failures`. */
  ok: boolean;
  generated_at: string;
  duration_s: number;
  providers_requested: string[];
  kit: unknown;
  machine: Record<string, unknown>;
  onnxruntime: Record<string, unknown>;
  providers: ProviderResult[];
  failures: string[];
}

const cell = (v: unknown) => String(v ?? '').replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
const table = (header: string[], rows: unknown[][]) => [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
const short = (s: string | undefined, n = 300) => (s && s.length > n ? `${s.slice(0, n)}…` : (s ?? ''));

function placementText(p: Record<string, number> | undefined): string {
  if (!p) return '';
  return Object.entries(p).map(([ep, n]) => `${ep.replace('ExecutionProvider', '')} ${n}`).join(', ');
}

function timingSection(report: KitReport): string[] {
  const cpu = report.providers.find((p) => p.name === 'cpu');
  const ran = report.providers.filter((p) => p.timing.length);
  const rows: unknown[][] = [];
  for (const p of ran) {
    for (const c of p.timing) {
      if (c.load_error) {
        rows.push([p.name, c.name, '', '', '', '', '', `load failed: ${short(c.load_error, 200)}`]);
        continue;
      }
      for (const b of c.batches) {
        const ref = cpu?.timing.find((t) => t.name === c.name)?.batches.find((x) => x.batch === b.batch);
        const speedup = p.name !== 'cpu' && ref && b.median_ms ? `${(ref.median_ms / b.median_ms).toFixed(2)}×` : '';
        rows.push([p.name, c.name, b.batch, b.error ? 'error' : b.median_ms.toFixed(3), b.error ? '' : b.first_ms.toFixed(1), b.runs, speedup, b.error ? short(b.error, 200) : placementText(p.placements[c.name])]);
      }
    }
  }
  return ['## Raw session.run per graph and batch size', '', 'onnxruntime-node directly (no darkroom), the same inputs on every provider; median of the timed runs after 3 warm-ups; the first run is where a GPU provider compiles its kernels. Speed-up is the CPU median over this provider\'s. Nodes: where onnxruntime placed the graph\'s nodes.', '', table(['provider', 'graph', 'batch', 'median ms', 'first run ms', 'runs', 'vs CPU', 'nodes / error'], rows), ''];
}

function jobsSection(report: KitReport): string[] {
  const rows: unknown[][] = [];
  for (const p of report.providers) {
    for (const j of p.jobs ?? []) {
      const cmp = p.vs_cpu?.jobs.find((c) => c.key === j.key);
      const vs = !cmp ? '' : cmp.note ? cmp.note : cmp.top1_equal !== undefined ? `top-1 equal ${cmp.top1_equal}${cmp.top1_differs?.length ? ` (differs: ${cmp.top1_differs.map((d) => `${d.photo}: ${d.cpu} vs ${d.other}`).join('; ')})` : ''}, max score diff ${cmp.max_top1_score_diff}` : `max pixel diff ${cmp.max_pixel_diff}, mean ${cmp.mean_pixel_diff}`;
      rows.push([p.name, j.key, j.model, j.what, j.status, j.run_seconds?.toFixed(2) ?? '', j.image_sizes?.join(' ') ?? (j.top1 ? `${j.top1.length} predictions` : ''), j.error ? short(j.error) : vs]);
    }
  }
  const acc = report.providers.filter((p) => p.accuracy).map((p) => `${p.name}: ${p.accuracy!.correct}/${p.accuracy!.total}`);
  return ['## Jobs through darkroom (API, Redis, one worker)', '', 'One job at a time; run s is the worker\'s run time (started to finished). The last column compares with the CPU run: top-1 class per photo, or the largest difference of any 8-bit channel value.', '', table(['provider', 'job', 'model', 'what', 'status', 'run s', 'outputs', 'vs CPU / error'], rows), '', `mobilenet top-1 in expected.json's accepted classes: ${acc.join(', ') || 'no classification ran'}.`, ''];
}

export function renderMarkdown(report: KitReport): string {
  const text = (v: unknown) => (typeof v === 'string' ? v : Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join('; ') : JSON.stringify(v));
  const machine = Object.entries(report.machine).map(([k, v]) => [k, text(v)]);
  const kit = Object.entries((report.kit ?? {}) as Record<string, unknown>).map(([k, v]) => [`kit: ${k}`, text(v)]);
  const providerRows = report.providers.map((p) => [p.name, p.status, Object.entries(p.worker?.providers ?? {}).map(([m, e]) => `${m}@${e}`).join(', '), short(p.error ?? p.worker?.error, 400)]);
  const fallbacks = report.providers.flatMap((p) => (p.worker?.fallbacks ?? []).map((f) => `- ${p.name} worker, ${f.model}: ${short(f.message, 400)}`));
  const raw = report.providers.flatMap((p) => (p.vs_cpu?.raw ?? []).map((r) => [p.name, r.name, r.batch, r.max_abs_diff, r.max_rel_diff]));
  const logs = report.providers.filter((p) => p.log_lines.length).flatMap((p) => [`### ${p.name}`, '', '```', ...p.log_lines.slice(0, 40), '```', '']);
  return [
    '# darkroom GPU kit report',
    '',
    `${report.generated_at}, ${report.duration_s.toFixed(0)} s, providers asked for: ${report.providers_requested.join(', ')}. ${report.ok ? 'Nothing failed.' : `**${report.failures.length} failure(s)**, listed at the end.`}`,
    '',
    '## Machine and kit',
    '',
    table(['', ''], [...machine, ...Object.entries(report.onnxruntime).map(([k, v]) => [`onnxruntime: ${k}`, text(v)]), ...kit]),
    '',
    '## Execution providers',
    '',
    'Models: the provider each of the worker\'s sessions was created with, as the worker logged it (`model@provider`).',
    '',
    table(['provider', 'result', 'models (worker)', 'error'], providerRows),
    '',
    ...(fallbacks.length ? ['Fallbacks the worker logged:', '', ...fallbacks, ''] : []),
    ...timingSection(report),
    ...jobsSection(report),
    ...(raw.length ? ['## Raw outputs against the CPU\'s', '', table(['provider', 'graph', 'batch', 'max abs diff', 'max rel diff'], raw), ''] : []),
    '## Failures',
    '',
    ...(report.failures.length ? report.failures.map((f) => `- ${short(f, 1000)}`) : ['None.']),
    '',
    ...(logs.length ? ['## onnxruntime and Dawn log lines', '', ...logs] : []),
  ].join('\n');
}

export function writeReports(dir: string, report: KitReport): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'gpu-report.json');
  const md = path.join(dir, 'gpu-report.md');
  fs.writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  fs.writeFileSync(md, `${renderMarkdown(report)}\n`);
  return [json, md];
}
