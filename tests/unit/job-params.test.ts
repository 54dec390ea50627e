import { loadConfig } from '../../src/config';
import { AppError } from '../../src/errors';
import {
  resolveClassificationParams,
  resolveGenerationParams,
  resolveImageToImageParams,
} from '../../src/http/job-params';
import { loadModelCatalog } from '../../src/models/model-catalog';
import { DEMO_MODELS } from '../helpers/paths';

// Demo models: demo-cppn (generator, prompt, 256x256 up to 1024), demo-diffusion (diffusion, 256x256,
// vae_encoder, steps <= 150), demo-colors (classifier).
const catalog = loadModelCatalog([DEMO_MODELS]);
const limits = loadConfig({ MAX_PROMPT_LENGTH: '50', MAX_JOB_MEGAPIXEL_STEPS: '100' }).limits;
const gen = { n: 1, output_format: 'png' as const };

/** The AppError `fn` throws, as the client sees it: status, code, and the field named in details. */
function refusal(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { status: err.status, code: err.code, field: (err.details as { field: string }[] | undefined)?.[0]?.field };
  }
  throw new Error('expected an AppError');
}

test('a generator request takes the model size and a recorded seed; a given seed is kept', () => {
  const params = resolveGenerationParams({ ...gen, model: 'demo-cppn', prompt: 'red' }, catalog, limits);
  expect(params).toMatchObject({
    model: 'demo-cppn',
    prompt: 'red',
    n: 1,
    width: 256,
    height: 256,
    output_format: 'png',
  });
  expect(Number.isInteger(params.seed)).toBe(true);
  expect(resolveGenerationParams({ ...gen, model: 'demo-cppn', seed: 42 }, catalog, limits).seed).toBe(42);
});

test('without a model a generation goes to the default generation model (demo-diffusion among the demos), with its defaults filled in', () => {
  expect(resolveGenerationParams(gen, catalog, limits)).toMatchObject({
    model: 'demo-diffusion',
    width: 256,
    height: 256,
    steps: 20,
    guidance_scale: 7.5,
    scheduler: 'euler',
    negative_prompt: '',
  });
});

test('unknown models and models of the wrong kind are 422s on the model field', () => {
  expect(refusal(() => resolveGenerationParams({ ...gen, model: 'nope' }, catalog, limits))).toEqual({
    status: 422,
    code: 'unknown_model',
    field: 'model',
  });
  expect(refusal(() => resolveGenerationParams({ ...gen, model: 'demo-colors' }, catalog, limits))).toEqual({
    status: 422,
    code: 'wrong_model_kind',
    field: 'model',
  });
  expect(refusal(() => resolveClassificationParams({ model: 'demo-cppn', top_k: 3 }, catalog, limits))).toEqual({
    status: 422,
    code: 'wrong_model_kind',
    field: 'model',
  });
});

test('a generator refuses diffusion-only settings and sizes beyond its limits', () => {
  expect(refusal(() => resolveGenerationParams({ ...gen, model: 'demo-cppn', steps: 4 }, catalog, limits))).toEqual({
    status: 422,
    code: 'parameter_not_supported',
    field: 'steps',
  });
  expect(refusal(() => resolveGenerationParams({ ...gen, model: 'demo-cppn', width: 2048 }, catalog, limits))).toEqual({
    status: 422,
    code: 'size_out_of_range',
    field: 'width',
  });
});

test('diffusion sizes must be multiples of 8, and steps within the model limit', () => {
  expect(
    refusal(() => resolveGenerationParams({ ...gen, model: 'demo-diffusion', width: 100 }, catalog, limits)),
  ).toEqual({ status: 422, code: 'size_not_multiple_of_8', field: 'width' });
  expect(
    refusal(() => resolveGenerationParams({ ...gen, model: 'demo-diffusion', steps: 151 }, catalog, limits)),
  ).toEqual({ status: 422, code: 'steps_out_of_range', field: 'steps' });
});

test('prompts longer than MAX_PROMPT_LENGTH are refused, negative prompts too', () => {
  const long = 'x'.repeat(51);
  expect(refusal(() => resolveGenerationParams({ ...gen, model: 'demo-cppn', prompt: long }, catalog, limits))).toEqual(
    { status: 422, code: 'prompt_too_long', field: 'prompt' },
  );
  expect(
    refusal(() => resolveGenerationParams({ ...gen, model: 'demo-diffusion', negative_prompt: long }, catalog, limits)),
  ).toEqual({ status: 422, code: 'prompt_too_long', field: 'negative_prompt' });
});

test('a job costing more than MAX_JOB_MEGAPIXEL_STEPS is refused; a batch item names its path', () => {
  // 512 x 512 x 150 steps x 4 / 10^6 = 157 > 100.
  const big = { ...gen, n: 4, model: 'demo-diffusion', width: 512, height: 512, steps: 150 };
  expect(refusal(() => resolveGenerationParams(big, catalog, limits))).toMatchObject({
    status: 422,
    code: 'job_too_expensive',
  });
  expect(refusal(() => resolveGenerationParams(big, catalog, limits, ['requests', 2]))).toEqual({
    status: 422,
    code: 'job_too_expensive',
    field: 'requests.2',
  });
  expect(
    refusal(() => resolveGenerationParams({ ...gen, model: 'nope' }, catalog, limits, ['requests', 2])),
  ).toMatchObject({ field: 'requests.2.model' });
});

test('image-to-image on a diffusion model gets a prompt, a default strength of 0.75 and the diffusion defaults', () => {
  expect(resolveImageToImageParams({ ...gen, model: 'demo-diffusion', seed: 7 }, catalog, limits)).toEqual({
    model: 'demo-diffusion',
    n: 1,
    seed: 7,
    output_format: 'png',
    prompt: '',
    strength: 0.75,
    negative_prompt: '',
    steps: 20,
    guidance_scale: 7.5,
    scheduler: 'euler',
  });
  expect(refusal(() => resolveImageToImageParams({ ...gen, model: 'demo-cppn' }, catalog, limits))).toEqual({
    status: 422,
    code: 'wrong_model_kind',
    field: 'model',
  });
});

test('classification resolves the default classifier and keeps top_k', () => {
  expect(resolveClassificationParams({ top_k: 3 }, catalog, limits)).toEqual({ model: 'demo-colors', top_k: 3 });
});
