import { UnrecoverableError } from 'bullmq';

/**
 * Why a job failed, as a code and a message, from the worker that throws to the API that shows it.
 *
 * BullMQ 6 keeps one thing of a thrown error with the failed job: its message, as `failedReason`,
 * written by the same script that moves the job to failed and carried by the `failed` event that
 * the API's event streams and the webhooks read. So the code rides in that message, and this
 * module alone writes and reads its format (`code: message`, the format jobs already stored in
 * Redis have). The other places were worse: `job.updateData` or a side hash is a second write that
 * can land without the failure (or the failure without it) and costs every `failed` event a second
 * read; `job.log` and `stacktrace` are kept apart from the event, and trimmed.
 */
const failureText = (code: string, message: string) => `${code}: ${message}`;
const FAILURE_TEXT = /^([a-z][a-z0-9_]*): ([\s\S]*)$/;

/** A failure with a stable code that another attempt cannot fix: BullMQ fails the job at once. */
export class JobFailure extends UnrecoverableError {
  constructor(
    readonly code: string,
    readonly detail: string,
  ) {
    super(failureText(code, detail));
  }
}

/**
 * A failure with a stable code that another attempt (on another worker, later) may not meet:
 * BullMQ retries the job up to JOB_ATTEMPTS times, and records this code if the last one fails too.
 */
export class RetryableJobFailure extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
  ) {
    super(failureText(code, detail));
    this.name = 'RetryableJobFailure';
  }
}

/** The code of a failure thrown as one of the classes above; undefined for any other error. */
export const failureCode = (err: unknown): string | undefined =>
  err instanceof JobFailure || err instanceof RetryableJobFailure ? err.code : undefined;

export const CANCELED_CODE = 'canceled';

/** Code of a job whose payload this worker cannot read: a retry would read the same bytes. */
export const INVALID_PAYLOAD_CODE = 'invalid_payload';

/** Code of a job whose worker died (or lost Redis) under it more than MAX_STALLED_COUNT times. */
export const STALLED_CODE = 'stalled';
/** What BullMQ itself records for such a job. */
const BULLMQ_STALLED_REASON = 'job stalled more than allowable limit';

/** The code and message of a failed job, from the `failedReason` BullMQ stored (or sent with its `failed` event). */
export function parseFailure(reason: string | undefined): { code: string; message: string } {
  const m = FAILURE_TEXT.exec(reason ?? '');
  if (m) return { code: m[1], message: m[2] };
  if (reason === BULLMQ_STALLED_REASON) {
    return {
      code: STALLED_CODE,
      message:
        'the workers running this job stopped (crashed, killed or cut off from Redis) more often than MAX_STALLED_COUNT allows',
    };
  }
  return { code: 'internal_error', message: reason || 'the job failed' };
}
