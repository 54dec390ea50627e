import { UnrecoverableError } from 'bullmq';
import { AppError } from '../../src/errors';
import { CANCELED_CODE, JobFailure } from '../../src/jobs/job-failure';
import { BlobNotFoundError } from '../../src/storage/blob-store';
import { AbortedError, InferenceError } from '../runtime/runtime-errors';

/**
 * Turns what a processor threw into what BullMQ should record: client errors and crashes fail the
 * job for good with a stable code; a RetryableJobFailure and anything unexpected are thrown as
 * they are, so BullMQ retries them.
 */
export function toJobFailure(err: unknown, aborted: boolean): Error {
  if (aborted || err instanceof AbortedError) return new JobFailure(CANCELED_CODE, 'canceled by the client');
  if (err instanceof UnrecoverableError) return err;
  if (err instanceof AppError) return new JobFailure(err.code, err.message);
  if (err instanceof InferenceError) return new JobFailure(err.code, err.message);
  if (err instanceof BlobNotFoundError)
    return new JobFailure('input_missing', `an input of this job is gone from the blob store (${err.key})`);
  return err instanceof Error ? err : new Error(String(err));
}
