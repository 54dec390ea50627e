import { readWorkflow } from '../../src/http/comfy/comfy-graph';
import { foldSeed } from '../../src/http/comfy/comfy-seed';
import type { ComfyGraph } from '../../src/http/comfy/comfy-schemas';

/** Reading ComfyUI API-format workflows as darkroom jobs, and folding ComfyUI seeds into darkroom's range. */

const upscale: ComfyGraph = {
  '1': { class_type: 'LoadImage', inputs: { image: 'photo.png' } },
  '2': { class_type: 'UpscaleModelLoader', inputs: { model_name: 'superres-y-x3.onnx' } },
  '3': { class_type: 'ImageUpscaleWithModel', inputs: { upscale_model: ['2', 0], image: ['1', 0] } },
  '4': { class_type: 'PreviewImage', inputs: { images: ['3', 0] } },
};

const errorsOf = (graph: ComfyGraph) => {
  try {
    readWorkflow(graph);
  } catch (err) {
    return (err as { details: { node_errors: Record<string, { errors: { type: string; message: string }[] }> } })
      .details.node_errors;
  }
  throw new Error('the workflow was accepted');
};

test('LoadImage + UpscaleModelLoader + ImageUpscaleWithModel is an image-to-image job on that model', () => {
  const plan = readWorkflow(upscale);
  expect(plan.job).toEqual({
    type: 'image_to_image',
    request: { model: 'superres-y-x3', n: 1, output_format: 'png' },
    image: 'photo.png',
  });
  expect(plan.outputs).toEqual([{ node: '4', type: 'temp' }]);
  expect(plan.order).toEqual(['1', '2', '3', '4']);
});

test('a link to the wrong kind of node, or a missing one, is reported on the node that holds it', () => {
  const errors = errorsOf({ ...upscale, '3': { class_type: 'ImageUpscaleWithModel', inputs: { image: ['1', 0] } } });
  expect(errors['3'].errors[0].type).toBe('required_input_missing');
  const wrong = errorsOf({ ...upscale, '4': { class_type: 'SaveImage', inputs: { images: ['1', 0] } } });
  expect(wrong['4'].errors[0].type).toBe('return_type_mismatch');
});

test('a workflow without SaveImage or PreviewImage has no outputs', () => {
  const { '4': _, ...rest } = upscale;
  expect(() => readWorkflow(rest)).toThrow('Prompt has no outputs');
});

test('seeds: below 2^32 unchanged; above, the high half XORed into the low half, always the same', () => {
  expect(foldSeed(0)).toBe(0);
  expect(foldSeed(2 ** 32 - 1)).toBe(2 ** 32 - 1);
  expect(foldSeed(2 ** 32)).toBe(1);
  expect(foldSeed(2 ** 50 + 5)).toBe(2 ** 18 + 5);
  expect(foldSeed(2 ** 64 - 1)).toBe(foldSeed(2 ** 64 - 1));
  expect(foldSeed(2 ** 64 - 1)).toBeLessThan(2 ** 32);
});
