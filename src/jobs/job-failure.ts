import { UnrecoverableError } from 'bullmq';

/**
 * A worker-side failure with a stable code. BullMQ stores only a message, so the code travels as
 * the message prefix `code: message` and is parsed back when the job is shown.
 */
export function jobFailure(code: string, message: string, retry = false): Error {
  const text = `${code}: ${message}`;
  return retry ? new Error(text) : new UnrecoverableError(text);
}

export const CANCELED_CODE = 'canceled';

/** Code of a job whose worker died (or lost Redis) under it more than MAX_STALLED_COUNT times. */
export const STALLED_CODE = 'stalled';
/** What BullMQ itself records for such a job. */
const BULLMQ_STALLED_REASON = 'job stalled more than allowable limit';

/** Splits a stored failedReason back into code and message. */
export function parseFailure(reason: string | undefined): { code: string; message: string } {
  const m = /^([a-z][a-z0-9_]*): ([\s\S]*)$/.exec(reason ?? '');
  if (m) return { code: m[1], message: m[2] };
  if (reason === BULLMQ_STALLED_REASON) {
    return { code: STALLED_CODE, message: 'the workers running this job stopped (crashed, killed or cut off from Redis) more often than MAX_STALLED_COUNT allows' };
  }
  return { code: 'internal_error', message: reason || 'the job failed' };
}
