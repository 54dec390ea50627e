import { performance } from 'node:perf_hooks';
import type { BenchModel, BenchOptions } from './bench-options';
import type { InlineModel } from './inline-model';
import { loadInlineModel } from './inline-models';
import type { Table } from './report-model';
import { num } from './report-model';
import type { Workload } from './workloads';

/** One try of the raw loop: a batch size, with or without overlapping the stages. */
export interface CeilingTry {
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
async function rawLoop(model: InlineModel, workload: Workload, batch: number, overlap: boolean, seconds: number): Promise<number> {
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

/** Tries every batch size, sequential and overlapped, and keeps the fastest as the ceiling. */
export async function measureCeiling(workload: Workload, options: BenchOptions, log: (line: string) => void): Promise<CeilingResult> {
  const model = await loadInlineModel(workload.model);
  const tries: CeilingTry[] = [];
  try {
    for (const batch of options.ceilingBatches) {
      for (const overlap of [false, true]) {
        const imagesPerSecond = await rawLoop(model, workload, batch, overlap, options.ceilingSeconds);
        tries.push({ batch, overlap, imagesPerSecond });
        log(`  ceiling ${workload.model} batch ${batch}${overlap ? ' overlapped' : ''}: ${num(imagesPerSecond)} images/s`);
      }
    }
  } finally {
    await model.close();
  }
  const best = tries.reduce((a, b) => (b.imagesPerSecond > a.imagesPerSecond ? b : a));
  return { model: workload.model, describe: model.describe, tries, best };
}

export function ceilingTable(results: CeilingResult[], batches: number[]): Table {
  return {
    caption: 'Raw loop, images per second (sequential / overlapped); the best is the ceiling',
    header: ['model', 'per item', ...batches.map((b) => `batch ${b}`), 'ceiling'],
    rows: results.map((r) => [
      r.model,
      r.describe,
      ...batches.map((b) => {
        const seq = r.tries.find((t) => t.batch === b && !t.overlap);
        const ovl = r.tries.find((t) => t.batch === b && t.overlap);
        return `${num(seq?.imagesPerSecond ?? NaN, 0)} / ${num(ovl?.imagesPerSecond ?? NaN, 0)}`;
      }),
      `**${num(r.best.imagesPerSecond, 0)}** (batch ${r.best.batch}${r.best.overlap ? ', overlapped' : ''})`,
    ]),
  };
}
