import type { CliContext } from './cli-context';
import { UsageError } from './cli-errors';
import { formatJob } from './job-format';
import { followJob } from './job-follow';
import { isZipPath, saveArchive, saveImages } from './result-download';
import type { JobView } from '../jobs/job-view';

/** The flags of a command that makes images: where to save them, and whether to wait for them. */
export interface ImageOutputOptions {
  output?: string;
  wait: boolean;
}

/** `-o` needs the finished job: refused before anything is sent. */
export function checkImageOutput(options: ImageOutputOptions): void {
  if (!options.wait && options.output !== undefined)
    throw new UsageError('-o needs the job to finish; leave out --no-wait');
}

/** After an image job is queued: print it (`--no-wait`), or follow it and save its images (a .zip or a folder). */
export async function finishImageJob(ctx: CliContext, queued: JobView, options: ImageOutputOptions): Promise<void> {
  if (!options.wait) return ctx.json ? ctx.printJson(queued) : ctx.print(formatJob(queued));
  const job = await followJob(ctx.client, queued);
  const output = options.output ?? '.';
  const saved = isZipPath(output)
    ? await saveArchive(ctx.client, job, output)
    : await saveImages(ctx.client, job, output);
  if (ctx.json) return ctx.printJson({ job, saved });
  ctx.print(`job ${job.id} ${job.status}\n${saved.map((file) => `saved ${file}`).join('\n')}`);
}
