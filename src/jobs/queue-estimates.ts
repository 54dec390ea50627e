import type { JobState } from 'bullmq';
import type { RedisClient } from '../redis/redis-connection';
import { parseModelQueue } from '../fleet/model-queues';
import { placeInLine, readJobFields, readRunningIds } from './bullmq-internals';
import { jobProgressSchema, type JobPayload, type QueueName } from './job-contract';
import type { DarkroomJob, JobQueues } from './job-queues';
import { jobTypeOf } from './job-types';
import type { WorkerDirectory } from './worker-directory';

/**
 * Where a job stands in line and when it should be done. Workers keep moving averages of measured
 * run times in one small Redis hash: per queue (ms per job) and per queue and model (ms per unit of
 * work). The API combines them with the job's place in line, the jobs running now and the slots
 * of the live workers.
 */
const runTimesKey = (prefix: string) => `${prefix}:stats:run_ms`;
const perUnitField = (queue: QueueName, model: string) => `${queue}:${model}`;

/** Weight of the newest run in the moving averages. */
const ALPHA = 0.2;

// Read-modify-write in one step, so workers finishing at the same time do not lose updates.
const EWMA_SCRIPT = `
local alpha = tonumber(ARGV[#ARGV])
for i = 1, #ARGV - 1, 2 do
  local old = tonumber(redis.call('HGET', KEYS[1], ARGV[i]))
  local x = tonumber(ARGV[i + 1])
  if old then x = old + alpha * (x - old) end
  redis.call('HSET', KEYS[1], ARGV[i], tostring(x))
end
return 1`;

/** Work a job stands for, so runs of different sizes compare (see each job type's `workUnits`). */
export const workUnits = (data: JobPayload): number => jobTypeOf(data).workUnits(data);

/** Samples of one average kept between writes: older ones would weigh under 0.1% (0.8^32) after them. */
const KEPT_PER_AVERAGE = 32;

/**
 * Successful runs a worker has measured and not yet folded into the averages. A worker writes
 * them once a second in one call (see `runTimesPush` in the worker), not one Redis round trip per
 * job; the averages then take them in the order they ran, as if written one by one. What a write
 * could not deliver (Redis away) is kept for the next, at most the newest KEPT_PER_AVERAGE per average.
 */
export class RunTimeSamples {
  private pending = new Map<string, number[]>();

  add(queue: QueueName, model: string, ms: number, units: number): void {
    this.keep(queue, [ms]);
    this.keep(perUnitField(queue, model), [ms / Math.max(1, units)]);
  }

  /** Folds the samples into the averages in Redis; on failure they stay for the next flush. */
  async flush(redis: RedisClient, prefix: string): Promise<void> {
    if (!this.pending.size) return;
    const taken = this.pending;
    this.pending = new Map();
    const args = [...taken].flatMap(([field, values]) => values.flatMap((v) => [field, v]));
    try {
      await redis.eval(EWMA_SCRIPT, 1, runTimesKey(prefix), ...args, ALPHA);
    } catch (err) {
      const later = this.pending;
      this.pending = new Map();
      for (const [field, values] of taken) this.keep(field, values);
      for (const [field, values] of later) this.keep(field, values);
      throw err;
    }
  }

  private keep(field: string, values: number[]): void {
    let kept = this.pending.get(field);
    if (!kept) this.pending.set(field, (kept = []));
    kept.push(...values);
    if (kept.length > KEPT_PER_AVERAGE) kept.splice(0, kept.length - KEPT_PER_AVERAGE);
  }
}

/** Milliseconds a running job still needs: from its own pace once it has made some progress, else from the averages. */
export function remainingMs(progress: number, elapsedMs: number, expectedMs: number | undefined): number | undefined {
  if (progress >= 0.05 && elapsedMs > 0) return (elapsedMs * (1 - progress)) / progress;
  return expectedMs === undefined ? undefined : Math.max(0, expectedMs - elapsedMs);
}

/** A queue as the estimates see it, read at most once a second per queue. */
export interface QueueSnapshot {
  /** Expected finish time (epoch ms) of each running job. */
  finishAt: Map<string, number>;
  /** When each of the queue's worker slots frees up (epoch ms), soonest first; empty when no live worker takes the queue. */
  lanes: number[];
  /** Average run of a job of the queue, and per unit of work of each model. */
  avgJobMs?: number;
  perUnitMs: Map<string, number>;
}

const toSeconds = (ms: number) => Math.round(Math.max(0, ms) / 100) / 10;

/**
 * Seconds until a job should be done, or null when there is nothing to go on (no live worker, no
 * finished run yet). A job with `position` jobs ahead starts when its turn comes round the lanes:
 * lane `position % lanes` after it frees, plus a full average job for each earlier round.
 */
export function estimateSeconds(
  snapshot: QueueSnapshot,
  job: {
    id: string;
    running: boolean;
    position?: number;
    model: string;
    units: number;
    progress: number;
    startedAt?: number;
  },
  now: number,
): number | null {
  const perUnit = snapshot.perUnitMs.get(job.model);
  const ownMs = perUnit === undefined ? snapshot.avgJobMs : perUnit * job.units;
  if (job.running) {
    const finish = snapshot.finishAt.get(job.id);
    if (finish !== undefined) return toSeconds(finish - now);
    const left = remainingMs(job.progress, job.startedAt ? now - job.startedAt : 0, ownMs);
    return left === undefined ? null : toSeconds(left);
  }
  const { lanes } = snapshot;
  if (job.position === undefined || !lanes.length || ownMs === undefined) return null;
  const rounds = Math.floor(job.position / lanes.length);
  const start = Math.max(0, lanes[job.position % lanes.length] - now) + rounds * (snapshot.avgJobMs ?? ownMs);
  return toSeconds(start + ownMs);
}

/** Running jobs read per snapshot, at most. */
const MAX_ACTIVE = 1000;

/** Reads a queue's snapshot: 2 round trips, the second reading the running jobs' progress (O(jobs running)). */
export async function readQueueSnapshot(
  redis: RedisClient,
  queues: JobQueues,
  queueName: string,
  slots: number,
  now = Date.now(),
): Promise<QueueSnapshot> {
  const q = queues.queue(queueName);
  // Run times are kept per job type (and model): a model queue's type is the first part of its name.
  const queue = parseModelQueue(queueName)?.type ?? queueName;
  const [stats, active] = (
    (await readRunningIds(redis.multi().hgetall(runTimesKey(queues.policy.prefix)), q, MAX_ACTIVE).exec()) ?? []
  ).map((r) => r[1]) as [Record<string, string>, string[]];
  const perUnitMs = new Map<string, number>();
  for (const [field, value] of Object.entries(stats ?? {}))
    if (field.startsWith(`${queue}:`)) perUnitMs.set(field.slice(queue.length + 1), Number(value));
  const avgJobMs = stats?.[queue] ? Number(stats[queue]) : undefined;
  const finishAt = new Map<string, number>();
  const lanes: number[] = [];
  if (active?.length) {
    const tx = redis.pipeline();
    for (const id of active) readJobFields(tx, q, id);
    const records = ((await tx.exec()) ?? []).map((r) => r[1] as (string | null)[]);
    active.forEach((id, i) => {
      const [progressText, processedOn, dataText] = records[i] ?? [];
      let expected = avgJobMs;
      let progress = 0;
      try {
        const data = JSON.parse(dataText ?? 'null') as JobPayload | null;
        const perUnit = data && 'params' in data ? perUnitMs.get(data.params.model) : undefined;
        if (data && perUnit !== undefined) expected = perUnit * workUnits(data);
        const parsed = jobProgressSchema.safeParse(JSON.parse(progressText ?? 'null'));
        if (parsed.success) progress = parsed.data.value;
      } catch {
        // a record we cannot read counts as an average job
      }
      const left = remainingMs(progress, processedOn ? now - Number(processedOn) : 0, expected) ?? 0;
      finishAt.set(id, now + left);
      lanes.push(now + left);
    });
  }
  if (slots === 0) return { finishAt, lanes: [], avgJobMs, perUnitMs };
  for (let i = lanes.length; i < slots; i++) lanes.push(now);
  lanes.sort((a, b) => a - b);
  return { finishAt, lanes, avgJobMs, perUnitMs };
}

export interface QueueEstimate {
  /** Jobs ahead of it in its queue (0: next to start); null when not waiting in line. */
  queue_position: number | null;
  eta_seconds: number | null;
  /** Set while no live worker consumes the job's queue (its model's): it waits for one, with no ETA. */
  waiting_for?: 'worker';
}

export interface QueueEstimator {
  /** Place in line and ETA of a queued or running job (`state` as BullMQ reports it). */
  estimate(job: DarkroomJob, state: JobState | 'unknown'): Promise<QueueEstimate>;
}

/** A job's place in line costs one round trip (see placeInLine); snapshots are shared for `maxAgeMs`. */
export function createQueueEstimator(
  redis: RedisClient,
  queues: JobQueues,
  workers: WorkerDirectory,
  maxAgeMs = 1000,
): QueueEstimator {
  const snapshots = new Map<string, { at: number; snapshot: Promise<QueueSnapshot> }>();
  const snapshotOf = (queue: string) => {
    const cached = snapshots.get(queue);
    if (cached && Date.now() - cached.at <= maxAgeMs) return cached.snapshot;
    const snapshot = workers.slots(queue).then((slots) => readQueueSnapshot(redis, queues, queue, slots));
    snapshots.set(queue, { at: Date.now(), snapshot });
    snapshot.catch(() => snapshots.delete(queue));
    return snapshot;
  };

  const forget = (queue: string, snapshot: QueueSnapshot) =>
    void snapshots.get(queue)?.snapshot.then((kept) => kept === snapshot && snapshots.delete(queue));

  const positionOf = async (job: DarkroomJob, state: JobState | 'unknown'): Promise<number | undefined> => {
    if (state !== 'waiting' && state !== 'prioritized') return undefined;
    return placeInLine(redis, queues.queue(job.queueName), String(job.id), state);
  };

  return {
    async estimate(job, state) {
      const [position, snapshot, slots] = await Promise.all([
        positionOf(job, state),
        snapshotOf(job.queueName),
        workers.slots(job.queueName),
      ]);
      // A job waiting while a slot is free is about to be taken: a snapshot of that moment would
      // show its worker idle to the next views for up to maxAgeMs, so it is not kept.
      if (position !== undefined && snapshot.lanes.length && snapshot.lanes[0] <= Date.now())
        forget(job.queueName, snapshot);
      if (!slots && state !== 'active')
        return { queue_position: position ?? null, eta_seconds: null, waiting_for: 'worker' };
      const progress = jobProgressSchema.safeParse(job.progress);
      const eta = estimateSeconds(
        snapshot,
        {
          id: String(job.id),
          running: state === 'active',
          position,
          model: 'params' in job.data ? job.data.params.model : '',
          units: workUnits(job.data),
          progress: progress.success ? progress.data.value : 0,
          startedAt: job.processedOn,
        },
        Date.now(),
      );
      return { queue_position: position ?? null, eta_seconds: eta };
    },
  };
}
