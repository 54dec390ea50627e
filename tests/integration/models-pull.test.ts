import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fetchBuffer, postJson, waitForJob } from '../helpers/api-client';
import { startHubServer, type HubServer } from '../helpers/hub-server';
import { DEMO_MODELS, DIST, requireBuilt, requireShared } from '../helpers/paths';
import { startStack } from '../helpers/stack';

/**
 * `darkroom models pull|list|remove` as a user runs them, offline, against a local server that
 * speaks the Hub's HTTP API (tests/helpers/hub-server.ts); the real Hub is not reachable here.
 */

const CLI = path.join(DIST, 'src', 'cli', 'main.js');
const PIPELINE = 'darkroom/demo-diffusion';
const CLASSIFIER = 'acme/squeezenet';
const GATED = 'acme/gated-diffusion';

let hub: HubServer;
let tmp: string;

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        env: { ...process.env, HF_ENDPOINT: hub.url, HF_TOKEN: '', MODELS_DIR: '', MODELS_PATH: '', ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    );
  });
}

/** A fresh DATA_DIR per test: its models/ is MODELS_DIR. */
function dataDir(): { env: NodeJS.ProcessEnv; modelsDir: string } {
  const dir = fs.mkdtempSync(path.join(tmp, 'data-'));
  return { env: { DATA_DIR: dir }, modelsDir: path.join(dir, 'models') };
}

/** squeezenet1.1 with the configs a transformers image classifier has on the Hub. */
function classifierRepo(): string {
  const shared = requireShared('models/squeezenet1.1');
  const dir = path.join(tmp, 'squeezenet-repo');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(shared, 'squeezenet1.1-fp32-dynbatch.onnx'), path.join(dir, 'model.onnx'));
  const labels = JSON.parse(fs.readFileSync(path.join(shared, 'labels.json'), 'utf8')) as {
    index: number;
    name: string;
  }[];
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['SqueezeNet'],
      id2label: Object.fromEntries(labels.map((l) => [String(l.index), l.name])),
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'preprocessor_config.json'),
    JSON.stringify({
      do_resize: true,
      size: { shortest_edge: 256 },
      do_center_crop: true,
      crop_size: { height: 224, width: 224 },
      resample: 2,
      do_rescale: false,
      rescale_factor: 1,
      do_normalize: true,
      image_mean: [123.68, 116.78, 103.94],
      image_std: [1, 1, 1],
    }),
  );
  fs.writeFileSync(path.join(dir, 'README.md'), '# not needed by darkroom\n');
  return dir;
}

beforeAll(async () => {
  requireBuilt();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-pull-'));
  const cppn = path.join(tmp, 'cppn-repo');
  fs.mkdirSync(cppn);
  fs.copyFileSync(path.join(DEMO_MODELS, 'demo-cppn', 'model.onnx'), path.join(cppn, 'model.onnx'));
  hub = await startHubServer({
    [PIPELINE]: { dir: path.join(DEMO_MODELS, 'demo-diffusion') },
    [GATED]: { dir: path.join(DEMO_MODELS, 'demo-diffusion'), gated: true },
    [CLASSIFIER]: { dir: classifierRepo() },
    'acme/cppn': { dir: cppn },
  });
});

afterEach(() => hub.clearFaults());
afterAll(async () => {
  await hub?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('pulls a diffusion pipeline and a classifier, writes their manifests, lists them, and a real stack serves both', async () => {
  const { env, modelsDir } = dataDir();
  const pipeline = await runCli(['models', 'pull', PIPELINE, '--name', 'pulled-diffusion'], env);
  expect(pipeline).toMatchObject({ code: 0 });
  expect(pipeline.stderr).toContain('downloaded unet/model.onnx');
  const dir = path.join(modelsDir, 'pulled-diffusion');
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'))).toMatchObject({
    name: 'pulled-diffusion',
    kind: 'diffusion',
    description: expect.stringContaining(`pulled from ${hub.url}`),
  });
  expect(fs.readFileSync(path.join(dir, 'unet', 'model.onnx'))).toEqual(
    fs.readFileSync(path.join(DEMO_MODELS, 'demo-diffusion', 'unet', 'model.onnx')),
  );
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'source.json'), 'utf8'))).toMatchObject({
    repo: PIPELINE,
    revision: 'main',
    commit: hub.commit,
  });
  expect(fs.readdirSync(modelsDir)).toEqual(expect.arrayContaining(['pulled-diffusion']));

  const classifier = await runCli(['models', 'pull', CLASSIFIER, '--json'], env);
  expect(classifier).toMatchObject({ code: 0 });
  expect(JSON.parse(classifier.stdout)).toMatchObject({ name: 'squeezenet', kind: 'classifier' });
  const manifest = JSON.parse(fs.readFileSync(path.join(modelsDir, 'squeezenet', 'model.json'), 'utf8'));
  expect(manifest).toMatchObject({
    kind: 'classifier',
    files: { model: 'model.onnx' },
    inputs: { image: 'data_0' },
    outputs: { scores: 'softmaxout_1' },
    preprocess: {
      width: 224,
      height: 224,
      resize: 'shorter_side_crop',
      resize_shorter_side: 256,
      resize_filter: 'linear', // preprocessor_config.json resample 2 is PIL's BILINEAR
      scale: 1,
      mean: [123.68, 116.78, 103.94],
      std: [1, 1, 1],
      layout: 'NCHW',
      dtype: 'float32',
    },
    labels: { file: 'labels.txt', format: 'lines' },
    output_activation: 'none', // the graph ends in Softmax
  });
  expect(
    fs
      .readFileSync(path.join(modelsDir, 'squeezenet', 'labels.txt'), 'utf8')
      .split('\n')
      .slice(0, 2),
  ).toEqual(['tench', 'goldfish']);
  expect(fs.existsSync(path.join(modelsDir, 'squeezenet', 'README.md'))).toBe(false);

  const list = await runCli(['models', 'list'], env);
  expect(list).toMatchObject({ code: 0, stderr: '' });
  expect(list.stdout).toMatch(/^pulled-diffusion\s+diffusion\s+\S+ kB\s+darkroom\/demo-diffusion@main$/m);
  expect(list.stdout).toMatch(/^squeezenet\s+classifier\s+\S+ MB\s+acme\/squeezenet@main$/m);

  const stack = await startStack({ env: { MODELS_PATH: [DEMO_MODELS, modelsDir].join(',') } });
  try {
    const res = await postJson(`${stack.url}/v1/generations`, {
      model: 'pulled-diffusion',
      prompt: 'a red circle',
      width: 64,
      height: 64,
      steps: 4,
      seed: 1,
    });
    expect(res.status).toBe(202);
    const job = await waitForJob(stack.url, res.body.id);
    expect(job.status).toBe('succeeded');
    expect((await fetchBuffer(`${stack.url}${job.result.images[0].url}`)).data.subarray(1, 4).toString()).toBe('PNG');

    const form = new FormData();
    form.append('model', 'squeezenet');
    form.append(
      'image',
      new Blob([fs.readFileSync(path.join(requireShared('images'), 'goldfish.jpg'))]),
      'goldfish.jpg',
    );
    const classified = await fetch(`${stack.url}/v1/classifications`, { method: 'POST', body: form });
    expect(classified.status).toBe(202);
    const cjob = await waitForJob(stack.url, ((await classified.json()) as { id: string }).id);
    expect(cjob.status).toBe('succeeded');
    expect(JSON.stringify(cjob.result)).toContain('goldfish');
  } finally {
    await stack.stop();
  }
});

test('a download cut mid-file resumes with Range where it stopped', async () => {
  const { env, modelsDir } = dataDir();
  const file = 'text_encoder/model.onnx';
  hub.cutOnce(PIPELINE, file, 100_000);
  const run = await runCli(['models', 'pull', PIPELINE], env);
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
  const gets = hub.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/resolve/main/${file}`));
  expect(gets).toHaveLength(2);
  expect(gets[0].range).toBeUndefined();
  const resumedAt = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? '')?.[1]);
  expect(resumedAt).toBeGreaterThan(0);
  expect(resumedAt).toBeLessThanOrEqual(100_000);
  expect(gets[1].ifRange).toMatch(/^"[0-9a-f]{64}"$/);
  expect(fs.readFileSync(path.join(modelsDir, 'demo-diffusion', file))).toEqual(
    fs.readFileSync(path.join(DEMO_MODELS, 'demo-diffusion', file)),
  );
});

test('a corrupted byte fails the SHA-256 check: refused, nothing installed; a clean retry succeeds', async () => {
  const { env, modelsDir } = dataDir();
  hub.corrupt(PIPELINE, 'unet/model.onnx', 1000);
  const run = await runCli(['models', 'pull', PIPELINE], env);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(
    /unet\/model\.onnx: SHA-256 [0-9a-f]{64}, the Hub lists [0-9a-f]{64}; refused, nothing installed/,
  );
  expect(fs.existsSync(path.join(modelsDir, 'demo-diffusion'))).toBe(false);
  expect((await runCli(['models', 'list'], env)).stdout.trim()).toBe('NAME  KIND  SIZE  SOURCE');
  hub.clearFaults();
  expect(await runCli(['models', 'pull', PIPELINE], env)).toMatchObject({ code: 0 });
});

test('a gated repository: 401 without a token says to set HF_TOKEN; with the token it installs; the token is never printed', async () => {
  const { env, modelsDir } = dataDir();
  const denied = await runCli(['models', 'pull', GATED], env);
  expect(denied.code).toBe(1);
  expect(denied.stderr).toMatch(/acme\/gated-diffusion is gated, private or does not exist \(401 .*\); set HF_TOKEN/);
  const wrong = await runCli(['models', 'pull', GATED], { ...env, HF_TOKEN: 'hf_wrong_secret_value' });
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toContain('refused HF_TOKEN');
  expect(wrong.stderr + wrong.stdout).not.toContain('hf_wrong_secret_value');
  const allowed = await runCli(['models', 'pull', GATED], { ...env, HF_TOKEN: hub.token });
  expect(allowed).toMatchObject({ code: 0 });
  expect(allowed.stdout + allowed.stderr).not.toContain(hub.token);
  expect(fs.existsSync(path.join(modelsDir, 'gated-diffusion', 'model.json'))).toBe(true);
  expect(hub.requests.filter((r) => r.path.includes('/resolve/')).every((r) => r.authorized)).toBe(true);
});

test('a missing file is a clear error and nothing is installed', async () => {
  const { env, modelsDir } = dataDir();
  hub.breakLink(PIPELINE, 'vae_decoder/model.onnx');
  const broken = await runCli(['models', 'pull', PIPELINE], env);
  expect(broken.code).toBe(1);
  expect(broken.stderr).toMatch(
    /vae_decoder\/model\.onnx \(listed by darkroom\/demo-diffusion at main\) not found .*\(404\)/,
  );
  hub.clearFaults();
  hub.hide(PIPELINE, 'unet/model.onnx');
  const lacking = await runCli(['models', 'pull', PIPELINE], env);
  expect(lacking.code).toBe(1);
  expect(lacking.stderr).toContain('darkroom/demo-diffusion has model_index.json but lacks unet/model.onnx');
  expect(fs.existsSync(path.join(modelsDir, 'demo-diffusion'))).toBe(false);
});

test('a graph whose kind cannot be told fails naming --kind', async () => {
  const run = await runCli(['models', 'pull', 'acme/cppn'], dataDir().env);
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(
    /cannot tell the kind of model\.onnx from its inputs \(latent \[N, 16\], prompt_embedding \[N, 32\]\).*pass --kind classifier\|image_to_image/,
  );
});

test('remove deletes a pulled model; removing it again fails', async () => {
  const { env, modelsDir } = dataDir();
  expect(await runCli(['models', 'pull', PIPELINE, '--name', 'to-remove'], env)).toMatchObject({ code: 0 });
  expect(await runCli(['models', 'pull', PIPELINE, '--name', 'to-remove'], env)).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('already installed'),
  });
  const removed = await runCli(['models', 'remove', 'to-remove'], env);
  expect(removed).toMatchObject({ code: 0 });
  expect(fs.existsSync(path.join(modelsDir, 'to-remove'))).toBe(false);
  expect(await runCli(['models', 'remove', 'to-remove'], env)).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('no model to-remove'),
  });
});
