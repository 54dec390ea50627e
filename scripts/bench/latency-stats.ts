/** Percentiles of a set of latencies (ms), nearest-rank on the sorted samples. */
export interface LatencySummary {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(samples: number[]): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  if (!n) return { n: 0, mean: NaN, p50: NaN, p95: NaN, p99: NaN, max: NaN };
  const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))];
  return { n, mean: sorted.reduce((s, v) => s + v, 0) / n, p50: at(50), p95: at(95), p99: at(99), max: sorted[n - 1] };
}

/** "12.3 ms" with precision that suits the magnitude. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

/** "p50 / p95 / p99" of a summary. */
export function triple(s: LatencySummary): string {
  return s.n ? `${ms(s.p50)} / ${ms(s.p95)} / ${ms(s.p99)}` : 'n/a';
}
