import { Option, type Command } from 'commander';
import { imageToImageRequestSchema } from '../../http/request-schemas';
import { schedulerNameSchema } from '../../jobs/job-contract';
import { parseDecimal, parseInteger, validateRequest } from '../cli-arguments';
import { contextOf } from '../cli-context';
import { readImageFile } from '../image-file';
import { checkImageOutput, finishImageJob } from '../image-job-result';

interface TransformOptions {
  model?: string;
  strength?: number;
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
  strength: '--strength',
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

const fieldsSchema = imageToImageRequestSchema.omit({ image: true });

/** `darkroom transform <image> [prompt]`: image to image (style transfer, super-resolution, img2img). */
export function addTransformCommand(program: Command): void {
  program
    .command('transform')
    .alias('image-to-image')
    .description('image to image: upload an image, wait for the job, save the results')
    .argument('<image>', 'the input image (jpeg, png, webp, ...)')
    .argument('[prompt]', 'what to make of it (diffusion models; others take none)')
    .option(
      '-m, --model <name>',
      "model (default: the server's default for image_to_image jobs; see `darkroom models`)",
    )
    .option('--strength <x>', 'how far from the input, 0 to 1 (diffusion models; default 0.75)', parseDecimal)
    .option('-n, --count <n>', 'number of images, 1 to 16 (diffusion models; default: 1)', parseInteger)
    .option('--width <px>', "output width (diffusion models; default: the model's)", parseInteger)
    .option('--height <px>', "output height (diffusion models; default: the model's)", parseInteger)
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
    .action(async (file: string, prompt: string | undefined, options: TransformOptions, command: Command) => {
      const ctx = contextOf(command);
      const fields = validateRequest(
        fieldsSchema,
        {
          model: options.model,
          prompt,
          strength: options.strength,
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
      const { bytes, type } = await readImageFile(file);
      const image = `data:${type};base64,${bytes.toString('base64')}`;
      const queued = await ctx.client.createImageToImage({ ...fields, image });
      await finishImageJob(ctx, queued, options);
    });
}
