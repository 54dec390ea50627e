import type { Response } from 'express';
import type { JobEventHub } from '../jobs/job-event-hub';
import type { JobQueues } from '../jobs/job-queues';

/**
 * `Prefer: wait=N` (RFC 7240) on a submission: the request holds on for up to N seconds (capped by
 * MAX_PREFER_WAIT_SECONDS) and answers 200 with the finished job, or the usual 202 when it has not
 * finished by then. The wait listens to the job's events instead of polling.
 */

/** Seconds a `Prefer` header asks to wait, capped at `max`; undefined when it asks for none (or `max` is 0). */
export function preferredWait(header: string | undefined, max: number): number | undefined {
  if (!header || max <= 0) return undefined;
  for (const preference of header.split(',')) {
    const [name, value] = preference.split(';')[0].split('=').map((s) => s.trim().replace(/^"(.*)"$/, '$1'));
    if (name.toLowerCase() !== 'wait' || !/^\d{1,9}$/.test(value ?? '')) continue;
    const seconds = Math.min(Number(value), max);
    return seconds > 0 ? seconds : undefined;
  }
  return undefined;
}

const FINISHED_STATES = new Set(['completed', 'failed']);

/** How often the wait also looks at the job itself, in case an event was missed (e.g. while Redis reconnected). */
const RECHECK_MS = 5000;

/**
 * Resolves true once the job has finished, false after `seconds` or when the client has gone
 * (`res` closed before it was answered).
 */
export async function waitForFinish(deps: { events: JobEventHub; queues: JobQueues }, id: string, seconds: number, res: Response): Promise<boolean> {
  const isFinished = async () => {
    const job = await deps.queues.getJob(id);
    return !job || FINISHED_STATES.has(await job.getState());
  };
  let settle!: (finished: boolean) => void;
  const done = new Promise<boolean>((resolve) => (settle = resolve));
  const unsubscribe = await deps.events.subscribe(id, (event) => {
    if (event.kind === 'finished' || event.kind === 'removed') settle(true);
  });
  const onClose = () => settle(false);
  res.once('close', onClose);
  deps.events.closing.addEventListener('abort', onClose);
  const deadline = setTimeout(() => settle(false), seconds * 1000);
  const recheck = setInterval(() => void isFinished().then((f) => f && settle(true), () => undefined), RECHECK_MS);
  try {
    // Subscribed first, then looked: a job that finished in between is seen here, one that finishes later by the listener.
    if (await isFinished()) settle(true);
    return await done;
  } finally {
    clearTimeout(deadline);
    clearInterval(recheck);
    res.off('close', onClose);
    deps.events.closing.removeEventListener('abort', onClose);
    unsubscribe();
  }
}
