import { JOB_TYPES } from '../../src/jobs/job-contract';
import { kindsServing } from '../../src/models/model-kinds';
import { kindsRunning } from '../../workers/pipelines/pipelines';

test('a request without a model goes to the kind of lowest rank: diffusion before a generator, a graph before diffusion for image-to-image', () => {
  expect(kindsServing('generation')).toEqual(['diffusion', 'generator']);
  expect(kindsServing('image_to_image')).toEqual(['image_to_image', 'diffusion']);
  expect(kindsServing('classification')).toEqual(['classifier']);
});

test.each(JOB_TYPES)('the API resolves %s jobs for exactly the kinds whose worker pipeline runs them', (type) => {
  expect([...kindsServing(type)].sort()).toEqual([...kindsRunning(type)].sort());
});
