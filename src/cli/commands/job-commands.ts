import type { Command } from 'commander';
import { contextOf } from '../cli-context';
import { formatJob } from '../job-format';

/** `darkroom status <id>` and `darkroom cancel <id>`. */
export function addJobCommands(program: Command): void {
  program
    .command('status')
    .description('show a job: status, progress, parameters, result or error')
    .argument('<id>', 'job id (gen_..., cls_...)')
    .action(async (id: string, _options: unknown, command: Command) => {
      const ctx = contextOf(command);
      const job = await ctx.client.getJob(id);
      if (ctx.json) ctx.printJson(job);
      else ctx.print(formatJob(job));
    });

  program
    .command('cancel')
    .description('cancel a queued or running job')
    .argument('<id>', 'job id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const ctx = contextOf(command);
      const job = await ctx.client.cancelJob(id);
      if (ctx.json) ctx.printJson(job);
      // A running job stops at its next checkpoint; until then it still reads as running.
      else
        ctx.print(
          job.status === 'canceled'
            ? `job ${job.id} canceled`
            : `cancel requested; job ${job.id} is ${job.status} and stops shortly`,
        );
    });
}
