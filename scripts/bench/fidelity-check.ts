import { getJob, submitJob } from './darkroom-client';
import type { DarkroomStack } from './darkroom-stack';
import { loadInlineModel } from './inline-models';
import { sleep } from './process-launcher';
import type { Workload } from './workloads';

interface Finished {
  status: string;
  result?: { predictions?: { labels: { class_index: number }[] }[] };
}

async function waitFor(url: string, id: string): Promise<Finished> {
  for (;;) {
    const job = (await getJob(url, id)) as Finished;
    if (['succeeded', 'failed', 'canceled'].includes(job.status)) return job;
    await sleep(20);
  }
}

/**
 * Shows that the ceiling loop and the naive server do the same work as darkroom: the first
 * request of the workload through darkroom and through the inline model must give the same PNG
 * bytes (generators) or the same top-5 classes (classifiers). Returns a line for the report.
 */
export async function checkSameWork(stack: DarkroomStack, workload: Workload): Promise<string> {
  const req = workload.darkroom(0);
  const id = await submitJob(stack.url, req);
  const job = await waitFor(stack.url, id);
  if (job.status !== 'succeeded') return `${workload.model}: the darkroom job ${job.status}; not compared`;
  const model = await loadInlineModel(workload.model);
  try {
    if (workload.imagesPerRequest === 1 && job.result?.predictions) {
      const [inline] = (await (await (await model.prepare([workload.item(0)])).infer()).finish()) as {
        class_index: number;
      }[][];
      const a = job.result.predictions[0].labels.map((l) => l.class_index).join(',');
      const b = inline.map((l) => l.class_index).join(',');
      return `${workload.model}: top-5 classes of the first photo ${a === b ? `identical (${a})` : `DIFFER: darkroom ${a}, inline ${b}`}`;
    }
    const body = JSON.parse(String(req.init.body)) as { seed: number; prompt?: string };
    const res = await fetch(`${stack.url}/v1/jobs/${id}/images/0`);
    const png = Buffer.from(await res.arrayBuffer());
    const [inline] = (await (
      await (await model.prepare([{ seed: body.seed, prompt: body.prompt ?? '' }])).infer()
    ).finish()) as Buffer[];
    return `${workload.model}: image 0 (seed ${body.seed}) ${png.equals(inline) ? `byte-identical PNG (${png.length} bytes)` : `DIFFERS: darkroom ${png.length} bytes, inline ${inline.length} bytes`}`;
  } finally {
    await model.close();
  }
}
