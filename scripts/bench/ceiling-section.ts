import { performance } from 'node:perf_hooks';
import { defaultIntraOpThreads } from '../../workers/runtime/intra-op-threads';
import type { BenchModel, BenchOptions } from './bench-options';
import type { InlineModel } from './inline-model';
import { loadInlineModel } from './inline-models';
import type { Table } from './report-model';
import { num } from './report-model';
import type { Workload } from './workloads';

/** One try of the raw loop: intra-op threads per session, a batch size, with or without overlapping the stages. */
export interface CeilingTry {
  /** 0: onnxruntime's default. */
  threads: number;
  batch: number;
  overlap: boolean;
  imagesPerSecond: number;
}

export interface CeilingResult {
  model: BenchModel;
  describe: string;
  tries: CeilingTry[];
  best: CeilingTry;
}

/**
 * The raw loop: prepare (decode or sample) a batch, session.run, finish (post-process, encode),
 * in this process with no HTTP and no queue. With `overlap`, the next batch is decoded and the
 * previous one encoded (both on libuv's pool) while the current one runs, as a server would.
 */
async function rawLoop(
  model: InlineModel,
  workload: Workload,
  batch: number,
  overlap: boolean,
  seconds: number,
): Promise<number> {
  let seq = 0;
  const items = () => Array.from({ length: batch }, () => workload.item(seq++));
  const once = async () => (await (await model.prepare(items())).infer()).finish();
  for (let i = 0; i < 2; i++) await once();
  let images = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  if (!overlap) {
    while (performance.now() < end) {
      await once();
      images += batch;
    }
  } else {
    let prepared = model.prepare(items());
    let finishing: Promise<void> = Promise.resolve();
    while (performance.now() < end) {
      const current = await prepared;
      prepared = model.prepare(items());
      const inferred = await current.infer();
      await finishing;
      finishing = inferred.finish().then(() => {
        images += batch;
      });
    }
    await finishing;
    await prepared;
  }
  return images / ((performance.now() - start) / 1000);
}

/**
 * Intra-op thread settings the ceiling tries: onnxruntime's default and the one darkroom's workers
 * use (and the one the benchmarked workers were given), so the ceiling is the best of them.
 */
export function ceilingThreads(options: BenchOptions): number[] {
  return [...new Set([0, defaultIntraOpThreads(), options.workerThreads])];
}

const threadsLabel = (threads: number) => (threads ? String(threads) : "onnxruntime's default");

/** Tries every thread setting and batch size, sequential and overlapped, and keeps the fastest as the ceiling. */
export async function measureCeiling(
  workload: Workload,
  options: BenchOptions,
  log: (line: string) => void,
): Promise<CeilingResult> {
  const tries: CeilingTry[] = [];
  let describe = '';
  for (const threads of ceilingThreads(options)) {
    const model = await loadInlineModel(workload.model, threads);
    describe = model.describe;
    try {
      for (const batch of options.ceilingBatches) {
        for (const overlap of [false, true]) {
          const imagesPerSecond = await rawLoop(model, workload, batch, overlap, options.ceilingSeconds);
          tries.push({ threads, batch, overlap, imagesPerSecond });
          log(
            `  ceiling ${workload.model} threads ${threadsLabel(threads)} batch ${batch}${overlap ? ' overlapped' : ''}: ${num(imagesPerSecond)} images/s`,
          );
        }
      }
    } finally {
      await model.close();
    }
  }
  const best = tries.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a));
  return { model: workload.model, describe, tries, best };
}

export function ceilingTable(results: CeilingResult[], batches: number[]): Table {
  return {
    caption:
      'Raw loop, images per second (sequential / overlapped), per intra-op thread setting; the best is the ceiling',
    header: ['model', 'per item', 'threads per session', ...batches.map((b) => `batch ${b}`), 'ceiling'],
    rows: results.flatMap((r) =>
      [...new Set(r.tries.map((t) => t.threads))].map((threads, i) => [
        i ? '' : r.model,
        i ? '' : r.describe,
        threadsLabel(threads),
        ...batches.map((b) => {
          const seq = r.tries.find((t) => t.threads === threads && t.batch === b && !t.overlap);
          const ovl = r.tries.find((t) => t.threads === threads && t.batch === b && t.overlap);
          return `${num(seq?.imagesPerSecond ?? NaN, 0)} / ${num(ovl?.imagesPerSecond ?? NaN, 0)}`;
        }),
        i
          ? ''
          : `**${num(r.best.imagesPerSecond, 0)}** (threads ${threadsLabel(r.best.threads)}, batch ${r.best.batch}${r.best.overlap ? ', overlapped' : ''})`,
      ]),
    ),
  };
}
