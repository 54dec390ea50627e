import type { Command } from 'commander';
import { contextOf } from '../cli-context';
import { formatTable } from '../text-table';

/** `darkroom models`: what the server can run. */
export function addModelsCommand(program: Command): void {
  program
    .command('models')
    .description('list the models the server has loaded')
    .action(async (_options: unknown, command: Command) => {
      const ctx = contextOf(command);
      const models = await ctx.client.listModels();
      if (ctx.json) return ctx.printJson({ models });
      ctx.print(
        formatTable(
          ['NAME', 'KIND', 'DESCRIPTION'],
          models.map((m) => [m.name, m.kind, m.description ?? '']),
        ),
      );
    });
}
