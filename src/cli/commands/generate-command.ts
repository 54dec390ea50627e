import { Option, type Command } from 'commander';
import { generationRequestSchema } from '../../http/request-schemas';
import { schedulerNameSchema } from '../../jobs/job-contract';
import { parseDecimal, parseInteger, validateRequest } from '../cli-arguments';
import { contextOf } from '../cli-context';
import { checkImageOutput, finishImageJob } from '../image-job-result';

interface GenerateOptions {
  model?: string;
  count?: number;
  width?: number;
  height?: number;
  seed?: number;
  format?: string;
  negativePrompt?: string;
  steps?: number;
  guidanceScale?: number;
  scheduler?: string;
  output?: string;
  wait: boolean;
}

const FLAG_OF_FIELD: Record<string, string> = {
  model: '--model',
  prompt: 'prompt',
  n: '-n',
  width: '--width',
  height: '--height',
  seed: '--seed',
  output_format: '--format',
  negative_prompt: '--negative-prompt',
  steps: '--steps',
  guidance_scale: '--guidance-scale',
  scheduler: '--scheduler',
};

/** `darkroom generate [prompt]`: submit, follow, download the images or their zip. */
export function addGenerateCommand(program: Command): void {
  program
    .command('generate')
    .description('generate images: submit a job, wait for it, save the results')
    .argument('[prompt]', 'what to generate (leave out for unconditional models)')
    .option(
      '-m, --model <name>',
      "generator model (default: the server's default for generation jobs; see `darkroom models`)",
    )
    .option('-n, --count <n>', 'number of images, 1 to 16 (default: 1)', parseInteger)
    .option('--width <px>', "image width (default: the model's)", parseInteger)
    .option('--height <px>', "image height (default: the model's)", parseInteger)
    .option('--seed <seed>', 'seed, for reproducible images (default: random)', parseInteger)
    .addOption(new Option('--format <format>', 'image format (default: png)').choices(['png', 'webp', 'jpeg']))
    .option('--negative-prompt <text>', 'what to steer away from (diffusion models)')
    .option('--steps <n>', "denoising steps (diffusion models; default: the model's)", parseInteger)
    .option('--guidance-scale <x>', 'classifier-free guidance scale (diffusion models)', parseDecimal)
    .addOption(
      new Option('--scheduler <name>', 'noise scheduler (diffusion models)').choices(schedulerNameSchema.options),
    )
    .option('-o, --output <path>', 'a .zip file (images + manifest.json), or a folder for the images (default: .)')
    .option('--no-wait', 'print the queued job and return at once')
    .action(async (prompt: string | undefined, options: GenerateOptions, command: Command) => {
      const ctx = contextOf(command);
      const body = validateRequest(
        generationRequestSchema,
        {
          model: options.model,
          prompt,
          n: options.count,
          width: options.width,
          height: options.height,
          seed: options.seed,
          output_format: options.format,
          negative_prompt: options.negativePrompt,
          steps: options.steps,
          guidance_scale: options.guidanceScale,
          scheduler: options.scheduler,
        },
        FLAG_OF_FIELD,
      );
      checkImageOutput(options);
      const queued = await ctx.client.createGeneration(body);
      await finishImageJob(ctx, queued, options);
    });
}
