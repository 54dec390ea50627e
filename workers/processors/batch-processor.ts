import { batchPayloadSchema } from '../../src/jobs/job-contract';
import { readPayload } from '../pipelines/pipeline-context';
import type { Processor } from './processor-context';

/** A batch parent runs once all its children have finished; it only records the summary. */
export function createBatchProcessor(): Processor {
  return async (job) => {
    const payload = readPayload(batchPayloadSchema, job.data);
    const children = await job.getDependenciesCount();
    return { jobs: payload.children.length, ...children };
  };
}
