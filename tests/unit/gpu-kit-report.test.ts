import { accuracy, compareJobs } from '../../scripts/gpu-kit/kit-compare';
import type { JobOutcome } from '../../scripts/gpu-kit/kit-jobs';
import { renderMarkdown, type KitReport } from '../../scripts/gpu-kit/kit-report';

const raw = (values: number[]) => ({
  data: Buffer.from(values),
  width: values.length / 3,
  height: 1,
  channels: 3 as const,
});
const top1 = (photo: string, class_index: number, score = 0.9) => ({
  photo,
  label: `class ${class_index}`,
  class_index,
  score,
});

test('a provider is compared with the CPU per photo (top-1) and per 8-bit value (images)', () => {
  const cpu: JobOutcome[] = [
    { key: 'classify-1', model: 'm', what: '', status: 'succeeded', top1: [top1('a.jpg', 1, 0.9), top1('b.jpg', 2)] },
    { key: 'gen', model: 'g', what: '', status: 'succeeded', images: [raw([10, 20, 30, 40, 50, 60])] },
    { key: 'sr', model: 's', what: '', status: 'failed' },
  ];
  const gpu: JobOutcome[] = [
    { key: 'classify-1', model: 'm', what: '', status: 'succeeded', top1: [top1('a.jpg', 1, 0.88), top1('b.jpg', 3)] },
    { key: 'gen', model: 'g', what: '', status: 'succeeded', images: [raw([10, 23, 30, 40, 50, 61])] },
    { key: 'sr', model: 's', what: '', status: 'succeeded', images: [] },
  ];
  const [cls, gen, sr] = compareJobs(cpu, gpu);
  expect(cls).toMatchObject({
    top1_equal: '1/2',
    top1_differs: [{ photo: 'b.jpg', cpu: 'class 2', other: 'class 3' }],
    max_top1_score_diff: 0.02,
  });
  expect(gen).toMatchObject({ max_pixel_diff: 3, mean_pixel_diff: 0.667 });
  expect(sr.note).toBe('not compared: CPU failed, this provider succeeded');
  expect(accuracy(gpu, { 'a.jpg': { labels: [1] }, 'b.jpg': { labels: [2, 4] } })).toEqual({ correct: 1, total: 2 });
});

test('images of another size are reported, not compared', () => {
  const cpu: JobOutcome[] = [{ key: 'gen', model: 'g', what: '', status: 'succeeded', images: [raw([1, 2, 3])] }];
  const gpu: JobOutcome[] = [
    { key: 'gen', model: 'g', what: '', status: 'succeeded', images: [raw([1, 2, 3, 4, 5, 6])] },
  ];
  expect(compareJobs(cpu, gpu)[0].note).toBe("image 0 is 2x1, the CPU's 1x1");
});

test('the readable report says which provider did not load, with its error, and lists the failures', () => {
  const report: KitReport = {
    ok: false,
    generated_at: '2026-12-01T00:00:00.000Z',
    duration_s: 12,
    providers_requested: ['cuda', 'cpu'],
    kit: { node_version: 'v20' },
    machine: { gpu: 'NVIDIA H200, 580.159.03, 143771 MiB', setup: ["vulkan loader: the kit's"] },
    onnxruntime: { version: '1.30.0' },
    providers: [
      {
        name: 'cuda',
        status: 'did not load',
        error: 'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library',
        timing: [],
        placements: {},
        log_lines: ['libonnxruntime_providers_shared.so: cannot open shared object file'],
      },
      {
        name: 'cpu',
        status: 'ran',
        timing: [
          {
            name: 'omori-sprite-gan',
            provider: 'cpu',
            batches: [{ batch: 16, first_ms: 3, runs: 10, median_ms: 1.5, p90_ms: 2, mean_ms: 1.6 }],
          },
        ],
        placements: { 'omori-sprite-gan': { CPUExecutionProvider: 11 } },
        log_lines: [],
        worker: { providers: { 'omori-sprite-gan': 'cpu' }, fallbacks: [] },
      },
    ],
    failures: ['cuda: did not load: OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library'],
  };
  const md = renderMarkdown(report);
  expect(md).toContain(
    '| cuda | did not load |  | OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library |',
  );
  expect(md).toContain('| cpu | omori-sprite-gan | 16 | 1.500 | 3.0 | 10 |  | CPU 11 |');
  expect(md).toContain('| gpu | NVIDIA H200, 580.159.03, 143771 MiB |');
  expect(md).toContain('**1 failure(s)**');
  expect(md).toContain('- cuda: did not load: OrtSessionOptionsAppendExecutionProvider_Cuda');
});
