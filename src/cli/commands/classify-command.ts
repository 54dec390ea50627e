import path from 'node:path';
import type { Command } from 'commander';
import { classificationFormSchema } from '../../http/request-schemas';
import { parseInteger, validateRequest } from '../cli-arguments';
import { contextOf } from '../cli-context';
import { readImageFile } from '../image-file';
import { formatJob, formatPredictions } from '../job-format';
import { followJob } from '../job-follow';

interface ClassifyOptions {
  model?: string;
  topK?: number;
  wait: boolean;
}

/** The multipart body: `model`, `top_k` and one `image` part per file. */
async function classificationForm(files: string[], model: string | undefined, topK: number): Promise<FormData> {
  const form = new FormData();
  if (model) form.append('model', model);
  form.append('top_k', String(topK));
  for (const file of files) {
    const { bytes, type } = await readImageFile(file);
    form.append('image', new Blob([bytes], { type }), path.basename(file));
  }
  return form;
}

/** `darkroom classify <images...>`: upload, wait, print the top labels of each image. */
export function addClassifyCommand(program: Command): void {
  program
    .command('classify')
    .description('classify images: upload them, wait, print the top labels of each')
    .argument('<images...>', 'image files (jpeg, png, webp, ...)')
    .option(
      '-m, --model <name>',
      "classifier model (default: the server's default for classification jobs; see `darkroom models`)",
    )
    .option('-k, --top-k <k>', 'labels per image, 1 to 20 (default: 5)', parseInteger)
    .option('--no-wait', 'print the queued job and return at once')
    .action(async (files: string[], options: ClassifyOptions, command: Command) => {
      const ctx = contextOf(command);
      const params = validateRequest(
        classificationFormSchema,
        { model: options.model, top_k: options.topK },
        { model: '--model', top_k: '--top-k' },
      );
      const queued = await ctx.client.createClassification(await classificationForm(files, params.model, params.top_k));
      if (!options.wait) return ctx.json ? ctx.printJson(queued) : ctx.print(formatJob(queued));

      const job = await followJob(ctx.client, queued);
      if (ctx.json) return ctx.printJson(job.result);
      ctx.print(formatPredictions(job, files));
    });
}
