import fs from 'node:fs';
import type { RawImage } from '../../src/imaging/image-codec';
import type { JobOutcome } from './kit-jobs';
import type { CaseTiming } from './timing-cases';

/** How a provider's results differ from the CPU run's. */
export interface JobComparison {
  key: string;
  /** Classification: photos whose top-1 class matches the CPU's, of those both classified. */
  top1_equal?: string;
  top1_differs?: { photo: string; cpu: string; other: string }[];
  /** Largest |score difference| of the top-1 class, where both agree on it. */
  max_top1_score_diff?: number;
  /** Images: largest and mean absolute difference per 8-bit channel value, over all the job's images. */
  max_pixel_diff?: number;
  mean_pixel_diff?: number;
  note?: string;
}

export interface RawComparison {
  name: string;
  batch: number;
  max_abs_diff: number;
  /** max_abs_diff over the largest |value| of the CPU output. */
  max_rel_diff: number;
}

/** The expected ImageNet classes of each photo (shared/images/expected.json). */
export type Expected = Record<string, { labels?: number[] }>;

export function accuracy(jobs: JobOutcome[], expected: Expected): { correct: number; total: number } {
  const top1 = jobs.flatMap((j) => j.top1 ?? []);
  const judged = top1.filter((t) => expected[t.photo]?.labels);
  return { correct: judged.filter((t) => expected[t.photo].labels!.includes(t.class_index)).length, total: judged.length };
}

function pixelDiff(a: RawImage[], b: RawImage[]): { max: number; mean: number } | string {
  if (a.length !== b.length) return `${b.length} images against the CPU's ${a.length}`;
  let max = 0;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i].width !== b[i].width || a[i].height !== b[i].height || a[i].channels !== b[i].channels) return `image ${i} is ${b[i].width}x${b[i].height}, the CPU's ${a[i].width}x${a[i].height}`;
    for (let k = 0; k < a[i].data.length; k++) {
      const d = Math.abs(a[i].data[k] - b[i].data[k]);
      if (d > max) max = d;
      sum += d;
    }
    count += a[i].data.length;
  }
  return { max, mean: count ? Math.round((sum / count) * 1000) / 1000 : 0 };
}

export function compareJobs(cpu: JobOutcome[], other: JobOutcome[]): JobComparison[] {
  return other.map((job) => {
    const ref = cpu.find((c) => c.key === job.key);
    const out: JobComparison = { key: job.key };
    if (!ref || ref.status !== 'succeeded' || job.status !== 'succeeded') {
      out.note = `not compared: CPU ${ref?.status ?? 'missing'}, this provider ${job.status}`;
      return out;
    }
    if (job.top1 && ref.top1) {
      const cpuBy = new Map(ref.top1.map((t) => [t.photo, t]));
      const both = job.top1.filter((t) => cpuBy.has(t.photo));
      const same = both.filter((t) => cpuBy.get(t.photo)!.class_index === t.class_index);
      out.top1_equal = `${same.length}/${both.length}`;
      out.top1_differs = both.filter((t) => !same.includes(t)).map((t) => ({ photo: t.photo, cpu: cpuBy.get(t.photo)!.label, other: t.label }));
      out.max_top1_score_diff = Math.round(Math.max(0, ...same.map((t) => Math.abs(t.score - cpuBy.get(t.photo)!.score))) * 1e6) / 1e6;
    } else if (job.images && ref.images) {
      const d = pixelDiff(ref.images, job.images);
      if (typeof d === 'string') out.note = d;
      else Object.assign(out, { max_pixel_diff: d.max, mean_pixel_diff: d.mean });
    }
    return out;
  });
}

function readF32(file: string): Float32Array {
  const buf = fs.readFileSync(file);
  return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
}

/** Raw outputs of the same inputs: each graph and batch size against the CPU's. */
export function compareRawOutputs(cpu: CaseTiming[], other: CaseTiming[]): RawComparison[] {
  const out: RawComparison[] = [];
  for (const c of other) {
    const ref = cpu.find((r) => r.name === c.name);
    for (const b of c.batches) {
      const rb = ref?.batches.find((x) => x.batch === b.batch);
      if (!b.output_file || !rb?.output_file || !fs.existsSync(b.output_file) || !fs.existsSync(rb.output_file)) continue;
      const x = readF32(rb.output_file);
      const y = readF32(b.output_file);
      if (x.length !== y.length) continue;
      let maxAbs = 0;
      let scale = 0;
      for (let i = 0; i < x.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(x[i] - y[i]));
        scale = Math.max(scale, Math.abs(x[i]));
      }
      out.push({ name: c.name, batch: b.batch, max_abs_diff: Number(maxAbs.toPrecision(4)), max_rel_diff: Number((scale ? maxAbs / scale : maxAbs).toPrecision(4)) });
    }
  }
  return out;
}
