import type { Response } from 'express';
import type { LiveAppDeps } from './app-deps';
import { waitForJobEnd } from './job-wait';

/**
 * `Prefer: wait=N` (RFC 7240) on a submission: the request holds on for up to N seconds (capped by
 * MAX_PREFER_WAIT_SECONDS) and answers 200 with the finished job, or the usual 202 when it has not
 * finished by then. The wait listens to the job's events (job-wait.ts) instead of polling.
 */

/** Seconds a `Prefer` header asks to wait, capped at `max`; undefined when it asks for none (or `max` is 0). */
export function preferredWait(header: string | undefined, max: number): number | undefined {
  if (!header || max <= 0) return undefined;
  for (const preference of header.split(',')) {
    const [name, value] = preference
      .split(';')[0]
      .split('=')
      .map((s) => s.trim().replace(/^"(.*)"$/, '$1'));
    if (name.toLowerCase() !== 'wait' || !/^\d{1,9}$/.test(value ?? '')) continue;
    const seconds = Math.min(Number(value), max);
    return seconds > 0 ? seconds : undefined;
  }
  return undefined;
}

/**
 * Honours `Prefer: wait=N` for job (or batch) `id`: resolves true when it finished within the wait,
 * false when it did not or the client went away. A client that already holds
 * MAX_OPEN_STREAMS_PER_KEY streams and waits is not made to wait: RFC 7240 lets a server ignore a
 * preference, and the job is accepted all the same (202, no Preference-Applied).
 */
export async function waitIfPreferred(deps: LiveAppDeps, res: Response, id: string): Promise<boolean> {
  const seconds = preferredWait(res.req.get('prefer'), deps.config.http.maxPreferWaitSeconds);
  if (seconds === undefined) return false;
  res.vary('Prefer');
  if (!deps.openStreams.tryOpen(res.req, res)) return false;
  res.set('Preference-Applied', `wait=${seconds}`);
  const left = new AbortController();
  const onClose = () => left.abort();
  res.once('close', onClose);
  try {
    return await waitForJobEnd(deps, id, seconds * 1000, left.signal);
  } finally {
    res.off('close', onClose);
  }
}
