import type { JobView } from '../jobs/job-view';
import type { ApiClient } from './api-client';
import { createJobProgressBar } from './job-progress-bar';
import { requireSucceeded, waitForJob } from './job-wait';

/**
 * Waits for a job with a progress bar on stderr and returns it once it has succeeded; a failed or
 * canceled job throws its error. Ctrl-C stops waiting, not the job, and says how to cancel it.
 */
export async function followJob(client: ApiClient, job: JobView): Promise<JobView> {
  const bar = createJobProgressBar();
  // Without a terminal there is no bar; logs still get the id, to look the job up or cancel it.
  if (!process.stderr.isTTY) process.stderr.write(`waiting for job ${job.id}\n`);
  const onInterrupt = () => {
    bar.stop();
    process.stderr.write(
      `\nstopped waiting; job ${job.id} keeps running. Check it with \`darkroom status ${job.id}\`, stop it with \`darkroom cancel ${job.id}\`\n`,
    );
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  try {
    return requireSucceeded(await waitForJob(client, job, { onUpdate: (j) => bar.update(j) }));
  } finally {
    bar.stop();
    process.off('SIGINT', onInterrupt);
  }
}
