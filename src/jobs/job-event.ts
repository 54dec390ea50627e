import { jobProgressSchema, type JobProgress } from './job-contract';
import { statusOf, type JobStatus } from './job-view';

/**
 * One thing that happened to a job, as read from its queue's BullMQ event stream (a Redis stream
 * both API and workers write to). `id` is the stream entry id: ordered, and stable across API
 * processes, so clients can resume from it.
 */
export type JobEvent =
  | { id: string; jobId: string; kind: 'status'; status: JobStatus }
  | { id: string; jobId: string; kind: 'progress'; progress: JobProgress }
  | { id: string; jobId: string; kind: 'finished'; status: JobStatus }
  | { id: string; jobId: string; kind: 'removed' };

/** BullMQ stream events that put a job (back) in line. */
const QUEUED_EVENTS = new Set(['waiting', 'delayed', 'waiting-children', 'stalled']);

/** The event names the stream reader listens to. */
export const JOB_EVENT_NAMES = [
  'waiting',
  'delayed',
  'waiting-children',
  'stalled',
  'active',
  'progress',
  'completed',
  'failed',
  'removed',
] as const;

/** BullMQ's progress is whatever the worker sent: ours is `{ value, step, steps }`, a bare number is tolerated. */
function progressOf(data: unknown): JobProgress | undefined {
  let value = data;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (typeof value === 'number') value = { value: value > 1 ? value / 100 : value };
  const parsed = jobProgressSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** Turns one stream entry (`event`, `jobId` and the event's fields) into a job event, or undefined when it is none of ours. */
export function toJobEvent(id: string, fields: Record<string, unknown>): JobEvent | undefined {
  const jobId = typeof fields.jobId === 'string' ? fields.jobId : undefined;
  const event = String(fields.event ?? '');
  if (!jobId) return undefined;
  if (QUEUED_EVENTS.has(event)) return { id, jobId, kind: 'status', status: 'queued' };
  switch (event) {
    case 'active':
      return { id, jobId, kind: 'status', status: 'running' };
    case 'progress': {
      const progress = progressOf(fields.data);
      return progress ? { id, jobId, kind: 'progress', progress } : undefined;
    }
    case 'completed':
      return { id, jobId, kind: 'finished', status: 'succeeded' };
    case 'failed':
      // BullMQ writes `failed` only when the job has failed for good; retries are `waiting`/`delayed`.
      return {
        id,
        jobId,
        kind: 'finished',
        status: statusOf('failed', typeof fields.failedReason === 'string' ? fields.failedReason : undefined, false),
      };
    case 'removed':
      return { id, jobId, kind: 'removed' };
    default:
      return undefined;
  }
}

const STREAM_ID = /^(\d{1,15})-(\d{1,15})$/;

/** Whether `s` is a Redis stream entry id (`<ms>-<seq>`). */
export const isStreamId = (s: string): boolean => STREAM_ID.test(s);

function parts(id: string): [number, number] {
  const m = STREAM_ID.exec(id);
  if (!m) throw new Error(`not a stream id: ${id}`);
  return [Number(m[1]), Number(m[2])];
}

/** Orders two stream ids: negative when `a` came first. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = parts(a);
  const [bm, bs] = parts(b);
  return am - bm || as - bs;
}

/** The smallest id after `id`, for an exclusive XRANGE start that works before Redis 6.2. */
export function nextStreamId(id: string): string {
  const [ms, seq] = parts(id);
  return `${ms}-${seq + 1}`;
}
