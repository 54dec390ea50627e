import { Gauge, type Registry } from 'prom-client';
import { parseModelQueue } from '../fleet/model-queues';
import { QUEUE_NAMES } from '../jobs/job-contract';
import type { JobQueues } from '../jobs/job-queues';
import { providerOf, type WorkerDirectory } from '../jobs/worker-directory';

// The API gauges read at scrape time: queue sizes (by job type and by model queue) and live workers.

const JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'waiting-children', 'completed', 'failed'] as const;

/** Called when Redis is unreachable: the gauge has no samples this scrape; the rest of the scrape still works. */
export type Unavailable = (err: Error) => undefined;

type QueueCounts = () => Promise<{ name: string; counts: Record<string, number> }[] | undefined>;

/** One read of every queue's counts per scrape (reused for 500 ms), shared by the queue gauges. */
export function queueCountsReader(queues: JobQueues, unavailable: Unavailable): QueueCounts {
  let countsRead:
    { at: number; counts: Promise<{ name: string; counts: Record<string, number> }[] | undefined> } | undefined;
  return () => {
    if (!countsRead || Date.now() - countsRead.at > 500) {
      const known = queues.known();
      const counts = Promise.all(known.map((q) => q.getJobCounts(...JOB_STATES)))
        .then((all) => all.map((c, i) => ({ name: known[i].name, counts: c })))
        .catch(unavailable);
      countsRead = { at: Date.now(), counts };
    }
    return countsRead.counts;
  };
}

/** darkroom_jobs (by job type) and darkroom_model_jobs (by model queue). */
export function registerQueueGauges(registry: Registry, queueCounts: QueueCounts): void {
  new Gauge({
    name: 'darkroom_jobs',
    help: 'Jobs of each job type (all its model queues together) and BullMQ state, read at scrape time (completed and failed: those still retained).',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      const read = await queueCounts();
      if (!read) return;
      for (const queue of QUEUE_NAMES) for (const state of JOB_STATES) this.set({ queue, state }, 0);
      // A type's jobs are in its own queue (batches, jobs of older APIs) and in its models' queues.
      for (const { name, counts } of read) {
        const queue = parseModelQueue(name)?.type ?? name;
        for (const state of JOB_STATES) this.inc({ queue, state }, counts[state] ?? 0);
      }
    },
  });

  new Gauge({
    name: 'darkroom_model_jobs',
    help: 'Jobs in each model queue by BullMQ state, read at scrape time: the per-model queue depth.',
    labelNames: ['job_type', 'model', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { name, counts } of (await queueCounts()) ?? []) {
        const routed = parseModelQueue(name);
        if (routed)
          for (const state of JOB_STATES)
            this.set({ job_type: routed.type, model: routed.model, state }, counts[state] ?? 0);
      }
    },
  });
}

/** The live workers (by heartbeat): their providers, resident models, model memory and slots. */
export function registerWorkerGauges(registry: Registry, workers: WorkerDirectory, unavailable: Unavailable): void {
  new Gauge({
    name: 'darkroom_workers',
    help: 'Live worker processes (by heartbeat), by the execution provider their models run on.',
    labelNames: ['provider'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const worker of (await workers.list().catch(unavailable)) ?? []) this.inc({ provider: providerOf(worker) });
    },
  });

  new Gauge({
    name: 'darkroom_models_resident',
    help: 'Live workers holding each model in memory now (by heartbeat).',
    labelNames: ['model'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const worker of (await workers.list().catch(unavailable)) ?? [])
        for (const model of worker.loaded ?? []) this.inc({ model });
    },
  });

  new Gauge({
    name: 'darkroom_worker_model_memory_mb',
    help: 'MB of models each live worker holds (its share of WORKER_MODEL_MEMORY_MB), by worker id.',
    labelNames: ['worker'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const worker of (await workers.list().catch(unavailable)) ?? [])
        if (worker.resident_mb !== undefined) this.set({ worker: worker.id }, worker.resident_mb);
    },
  });

  new Gauge({
    name: 'darkroom_worker_slots',
    help: 'Jobs of each queue the live workers can run at once (sum of their WORKER_CONCURRENCY).',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      const live = await workers.list().catch(unavailable);
      for (const queue of QUEUE_NAMES) if (live) this.set({ queue }, await workers.slots(queue));
    },
  });
}
