import path from 'node:path';
import { encodeImage } from '../../src/imaging/image-codec';
import type { GeneratorManifest } from '../../src/models/model-manifest';
import { hashedBagOfWords } from '../../workers/generation/prompt-embedding';
import { sampleLatent } from '../../workers/generation/seeded-random';
import { tensorToImage } from '../../workers/imaging/image-tensor';
import { openSession, toOrt, type InlineModel } from './inline-model';

/** Latent per seed, one session.run per batch, then each image to 8-bit RGB and PNG (as the generation processor does). */
export async function loadInlineGenerator(
  manifest: GeneratorManifest,
  dir: string,
  size?: { width: number; height: number },
  threads = 0,
): Promise<InlineModel> {
  const session = await openSession(path.resolve(dir, manifest.files.model), threads);
  const latentSize = manifest.latent.shape.reduce((a, b) => a * b, 1);
  const width = size?.width ?? manifest.output.width;
  const height = size?.height ?? manifest.output.height;
  return {
    name: manifest.name,
    kind: 'generator',
    describe: `seed -> ${manifest.output.width}x${manifest.output.height} -> ${width}x${height} PNG`,
    async prepare(items) {
      const latents = new Float32Array(latentSize * items.length);
      items.forEach((item, i) =>
        latents.set(sampleLatent(item.seed >>> 0, latentSize, manifest.latent.distribution), i * latentSize),
      );
      const feeds = {
        [manifest.inputs.latent]: toOrt({
          type: 'float32',
          dims: [items.length, ...manifest.latent.shape],
          data: latents,
        }),
      };
      if (manifest.prompt) {
        const dim = manifest.prompt.dim;
        const prompts = new Float32Array(dim * items.length);
        items.forEach((item, i) => prompts.set(hashedBagOfWords(item.prompt, dim), i * dim));
        feeds[manifest.prompt.input] = toOrt({ type: 'float32', dims: [items.length, dim], data: prompts });
      }
      return {
        async infer() {
          const out = await session.run(feeds, [manifest.outputs.image]);
          const data = out[manifest.outputs.image].data as Float32Array;
          return {
            finish: () =>
              Promise.all(
                items.map((_, i) =>
                  encodeImage(tensorToImage(data, i, manifest.output), 'png', {
                    width,
                    height,
                    kernel: manifest.output.resize_kernel,
                  }),
                ),
              ),
          };
        },
      };
    },
    close: () => session.release(),
  };
}
