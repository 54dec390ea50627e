import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIST, REPO, requireBuilt, requireShared } from '../helpers/paths';

/**
 * `npm run test:kit`: builds the GPU kit as `npm run gpu:kit` does, unpacks it into a temporary
 * folder and runs its dry run, `KIT_PROVIDERS=cpu bash run.sh`, the way a GPU session would run
 * it (docs/gpu.md), so the kit cannot rot between the sessions that are lent a GPU.
 */
const ARCHIVE = path.join(REPO, 'gpu-kit', 'darkroom-gpu-kit.tar.xz');
let unpacked: string;

beforeAll(() => {
  requireBuilt();
  requireShared('models/mobilenetv2-12-int8');
  const built = spawnSync(process.execPath, [path.join(DIST, 'scripts', 'gpu-kit', 'build-gpu-kit.js')], {
    cwd: REPO,
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`building the kit failed:\n${built.stdout}\n${built.stderr}`);
  unpacked = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-gpu-kit-test-'));
  const tar = spawnSync('tar', ['-xJf', ARCHIVE, '-C', unpacked], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`unpacking the kit failed: ${tar.stderr}`);
});

afterAll(() => {
  if (unpacked) fs.rmSync(unpacked, { recursive: true, force: true });
});

test('the kit is at most 60 MiB and holds Node, Redis, the Vulkan loader packages, models and photos', () => {
  expect(fs.statSync(ARCHIVE).size).toBeLessThanOrEqual(60 * 1024 * 1024);
  const kit = path.join(unpacked, 'darkroom-gpu-kit');
  for (const f of [
    'run.sh',
    'bin/node',
    'redis/redis-server',
    'app/dist/scripts/gpu-kit/kit-runner.js',
    'app/models/demo/demo-diffusion/unet/model.onnx',
    'models/mobilenetv2-12-int8/model.json',
    'models/omori-sprite-gan/model.json',
    'models/superres-y-x3/model.json',
    'photos/expected.json',
  ]) {
    expect({ f, exists: fs.existsSync(path.join(kit, f)) }).toEqual({ f, exists: true });
  }
  expect(fs.readdirSync(path.join(kit, 'gl-debs')).some((f) => f.startsWith('libvulkan1_'))).toBe(true);
  const info = JSON.parse(fs.readFileSync(path.join(kit, 'kit.json'), 'utf8'));
  expect(info).toMatchObject({ onnxruntime_node: expect.stringMatching(/^1\.30\./), node_version: process.version });
  // Other platforms' binaries were pruned; linux/x64's are there.
  expect(fs.readdirSync(path.join(kit, 'app/node_modules/onnxruntime-node/bin/napi-v6'))).toEqual(['linux']);
});

test('the dry run (KIT_PROVIDERS=cpu bash run.sh) runs every job and timing on the CPU and writes both reports', () => {
  const kit = path.join(unpacked, 'darkroom-gpu-kit');
  const env: NodeJS.ProcessEnv = { ...process.env, KIT_PROVIDERS: 'cpu' };
  delete env.OUT;
  const run = spawnSync('bash', [path.join(kit, 'run.sh')], { env, encoding: 'utf8', timeout: 600_000 });
  expect(run.status).toBe(0);
  // Nothing was unpacked or written outside the kit's folder.
  expect(fs.readdirSync(unpacked)).toEqual(['darkroom-gpu-kit']);
  const report = JSON.parse(fs.readFileSync(path.join(kit, 'gpu-report.json'), 'utf8'));
  expect({ failures: report.failures, output: report.ok ? '' : run.stdout.slice(-4000) }).toEqual({
    failures: [],
    output: '',
  });
  expect(report.providers.map((p: any) => [p.name, p.status])).toEqual([['cpu', 'ran']]);
  const cpu = report.providers[0];
  for (const model of [
    'mobilenetv2-12-int8',
    'omori-sprite-gan',
    'superres-y-x3',
    'demo-diffusion/unet',
    'demo-diffusion/vae_decoder',
  ])
    expect(cpu.worker.providers[model]).toBe('cpu');
  expect(cpu.jobs.map((j: any) => j.status)).toEqual(cpu.jobs.map(() => 'succeeded'));
  // Every photo the kit holds was classified (the few largest shared photos stay out of it: kit.json).
  expect(report.kit.photos).toBeGreaterThanOrEqual(20);
  expect(cpu.jobs.flatMap((j: any) => j.top1 ?? [])).toHaveLength(report.kit.photos);
  expect(cpu.jobs.find((j: any) => j.key === 'diffusion-512').image_sizes).toEqual(['512x512', '512x512']);
  expect(cpu.jobs.find((j: any) => j.key === 'superres-224').image_sizes).toEqual(['672x672']);
  expect(cpu.accuracy.correct / cpu.accuracy.total).toBeGreaterThanOrEqual(0.7);
  const batches = cpu.timing.flatMap((c: any) => c.batches);
  expect(batches.length).toBeGreaterThanOrEqual(10);
  for (const b of batches) expect(b.median_ms).toBeGreaterThan(0);
  expect(cpu.placements['mobilenetv2-12-int8']).toEqual({ CPUExecutionProvider: expect.any(Number) });
  const md = fs.readFileSync(path.join(kit, 'gpu-report.md'), 'utf8');
  expect(md).toContain('# darkroom GPU kit report');
  expect(md).toContain('Nothing failed.');
  expect(md).toMatch(/\| cpu \| mobilenetv2-12-int8 \| 16 \| [\d.]+ \|/);
});
