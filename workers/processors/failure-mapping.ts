import { UnrecoverableError } from 'bullmq';
import { AppError } from '../../src/errors';
import { CANCELED_CODE, jobFailure } from '../../src/jobs/job-failure';
import { BlobNotFoundError } from '../../src/storage/blob-store';
import { AbortedError, InferenceError } from '../runtime/runtime-errors';

/**
 * Turns what a processor threw into what BullMQ should record: client errors and crashes fail the
 * job for good with a stable code; anything unexpected is thrown as is, so BullMQ retries it.
 */
export function toJobFailure(err: unknown, aborted: boolean): Error {
  if (aborted || err instanceof AbortedError) return jobFailure(CANCELED_CODE, 'canceled by the client');
  if (err instanceof UnrecoverableError) return err;
  if (err instanceof AppError) return jobFailure(err.code, err.message);
  if (err instanceof InferenceError) return jobFailure(err.code, err.message);
  if (err instanceof BlobNotFoundError) return jobFailure('input_missing', `an input of this job is gone from the blob store (${err.key})`);
  return err instanceof Error ? err : new Error(String(err));
}
