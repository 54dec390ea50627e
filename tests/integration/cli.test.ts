import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIST, requirePath, requireShared } from '../helpers/paths';
import { freePort } from '../helpers/redis-server';
import { startStack, type Stack } from '../helpers/stack';

/** The compiled `darkroom` CLI as a user runs it, against a real API + worker + Redis. */

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const CLI = path.join(DIST, 'src', 'cli', 'main.js');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, DARKROOM_URL: '', DARKROOM_API_KEY: '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      },
    );
  });
}

interface ZipEntry {
  name: string;
  data: Buffer;
}

/** Reads a zip through its central directory (stored entries, as darkroom writes them). */
function readZip(file: string): ZipEntry[] {
  const zip = fs.readFileSync(file);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error(`${file} has no zip end-of-central-directory record`);
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry ${i} in ${file}`);
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    if (method !== 0) throw new Error(`${name} is compressed (method ${method}); darkroom stores entries`);
    const dataAt = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    entries.push({ name, data: zip.subarray(dataAt, dataAt + size) });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
}

describe('darkroom CLI', () => {
  let stack: Stack;
  let tmp: string;
  const cli = (...args: string[]) => runCli(['--url', stack.url, ...args]);

  beforeAll(async () => {
    requirePath(CLI, 'the compiled CLI', 'run `npm run build` (npm test does it) before jest');
    stack = await startStack();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-cli-'));
  });

  afterAll(async () => {
    await stack?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('lists the models in a table, and as JSON with --json', async () => {
    const table = await cli('models');
    expect(table).toMatchObject({ code: 0, stderr: '' });
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+KIND\s+DEFAULT FOR\s+DEMO\s+DESCRIPTION$/);
    // The defaults and the demos as GET /v1/models marks them (the stack pins the demos as defaults).
    expect(table.stdout).toMatch(/^demo-diffusion\s+diffusion\s+generation, image_to_image\s+demo\s+\S/m);
    expect(table.stdout).toMatch(/^demo-colors\s+classifier\s+classification\s+demo\s+\S/m);
    expect(table.stdout).toMatch(/^demo-cppn\s+generator\s+-\s+demo\s+\S/m);
    expect(table.stdout).toMatch(/^mobilenetv2-12-int8\s+classifier\s+-\s+-\s+\S/m);

    const json = await runCli(['models', '--json'], { DARKROOM_URL: stack.url });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).models.map((m: { name: string }) => m.name)).toContain('demo-cppn');
  });

  it('generates into a zip holding the images and manifest.json', async () => {
    const out = path.join(tmp, 'nested', 'out.zip');
    const run = await cli('generate', 'test', '-m', 'demo-cppn', '-n', '2', '--seed', '3', '-o', out);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toMatch(/^job gen_\S+ succeeded$/m);
    expect(run.stdout).toContain(`saved ${out}`);
    const entries = readZip(out);
    expect(entries.map((e) => e.name).sort()).toEqual(['image-000.png', 'image-001.png', 'manifest.json']);
    for (const e of entries.filter((e) => e.name.endsWith('.png')))
      expect(e.data.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    const manifest = JSON.parse(entries.find((e) => e.name === 'manifest.json')!.data.toString());
    expect(manifest).toMatchObject({ status: 'succeeded', model: 'demo-cppn', params: { seed: 3, n: 2 } });
    expect(fs.readdirSync(path.dirname(out))).toEqual(['out.zip']);
  });

  it('generates into a folder, one file per image, and reports them with --json', async () => {
    const dir = path.join(tmp, 'images');
    const run = await cli('--json', 'generate', 'test', '-m', 'demo-cppn', '-n', '2', '--format', 'webp', '-o', dir);
    expect(run.code).toBe(0);
    const { job, saved } = JSON.parse(run.stdout);
    expect(job.status).toBe('succeeded');
    expect(saved).toEqual([0, 1].map((i) => path.join(dir, `${job.id}-00${i}.webp`)));
    for (const file of saved) expect(fs.readFileSync(file).toString('latin1', 8, 12)).toBe('WEBP');
  });

  it("transform: without -m the image goes to the server's default image-to-image model", async () => {
    const dir = path.join(tmp, 'transformed');
    const photo = requireShared('images/macaw.jpg');
    const args = ['--json', 'transform', photo, 'a parrot at dusk', '--strength', '0.5', '--steps', '4'];
    const run = await cli(...args, '--width', '64', '--height', '64', '--seed', '2', '-o', dir);
    expect(run.code).toBe(0);
    const { job, saved } = JSON.parse(run.stdout);
    expect(job).toMatchObject({ type: 'image_to_image', status: 'succeeded', model: 'demo-diffusion' });
    expect(job.params).toMatchObject({ prompt: 'a parrot at dusk', strength: 0.5, steps: 4, seed: 2 });
    expect(saved).toEqual([path.join(dir, `${job.id}-000.png`)]);
    expect(fs.readFileSync(saved[0]).subarray(0, 8)).toEqual(PNG_SIGNATURE);
    // A flag out of range is refused before anything is sent, naming the flag.
    const bad = await cli('transform', photo, '--strength', '2');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--strength');
  });

  it('--no-wait prints the queued job, and status shows it', async () => {
    const submitted = await cli('--json', 'generate', 'test', '-m', 'demo-cppn', '--no-wait');
    expect(submitted.code).toBe(0);
    const job = JSON.parse(submitted.stdout);
    expect(job).toMatchObject({ type: 'generation', model: 'demo-cppn' });
    expect(['queued', 'running', 'succeeded']).toContain(job.status);

    const status = await cli('status', job.id);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^id\\s+${job.id}$`, 'm'));
    expect(status.stdout).toMatch(/^model\s+demo-cppn$/m);
  });

  it('refuses to cancel a finished job with the server error', async () => {
    const done = JSON.parse(
      (await cli('--json', 'generate', 'test', '-m', 'demo-cppn', '-o', path.join(tmp, 'one'))).stdout,
    );
    const run = await cli('cancel', done.job.id);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`error job_finished: job ${done.job.id} has already succeeded`);
  });

  it('exits 1 with the job error when the job it waits for is canceled', async () => {
    // Long enough (150 diffusion steps x 16 images) to be canceled while it runs.
    const waiting = spawn(process.execPath, [
      CLI,
      '--url',
      stack.url,
      'generate',
      'a red circle',
      '-m',
      'demo-diffusion',
      '--steps',
      '150',
      '-n',
      '16',
      '-o',
      path.join(tmp, 'canceled.zip'),
    ]);
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => waiting.on('exit', resolve));
    const id = await new Promise<string>((resolve, reject) => {
      waiting.stderr.on('data', (d) => {
        stderr += d;
        const m = /^waiting for job (\S+)$/m.exec(stderr);
        if (m) resolve(m[1]);
      });
      void exited.then(() => reject(new Error(`the CLI exited before waiting: ${stderr}`)));
    });
    const cancel = await cli('cancel', id);
    expect(cancel.code).toBe(0);
    // Either the worker has already stopped it, or it stops at its next step.
    expect(cancel.stdout).toMatch(
      new RegExp(`^(job ${id} canceled|cancel requested; job ${id} is running and stops shortly)\n$`),
    );
    expect(await exited).toBe(1);
    expect(stderr).toContain(`error canceled: job ${id} canceled: canceled by the client`);
    expect(fs.existsSync(path.join(tmp, 'canceled.zip'))).toBe(false);
  });

  it('classifies a photo and prints goldfish first', async () => {
    const photo = requireShared('images/goldfish.jpg');
    const run = await cli('classify', photo, '-m', 'mobilenetv2-12-int8', '-k', '3');
    expect(run).toMatchObject({ code: 0 });
    const rows = run.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^IMAGE\s+RANK\s+LABEL\s+SCORE$/);
    expect(rows[1]).toMatch(
      new RegExp(`^${photo.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+1\\s+goldfish\\s+0\\.\\d{4}$`),
    );
    expect(rows).toHaveLength(4);

    const json = await cli('--json', 'classify', photo, '-m', 'mobilenetv2-12-int8');
    expect(JSON.parse(json.stdout).predictions[0].labels[0].label).toBe('goldfish');
  });

  it('prints the server error and exits 1 for an unknown model', async () => {
    const run = await cli('generate', 'x', '-m', 'nope');
    expect(run.code).toBe(1);
    // The server's own message, which lists the models it has.
    expect(run.stderr).toMatch(/^error unknown_model: unknown model "nope";.*demo-cppn/m);
    expect(run.stderr).toMatch(/^ {2}model: unknown model "nope"/m);
    expect(run.stdout).toBe('');
  });

  it('exits 1 with not_found for an unknown job', async () => {
    const run = await cli('status', 'gen_00000000-0000-4000-8000-000000000000');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error not_found: job gen_00000000-0000-4000-8000-000000000000 not found$/m);
  });

  it('exits 2 for usage errors, before anything is sent', async () => {
    const badCount = await cli('generate', 'x', '-n', '99');
    expect(badCount.code).toBe(2);
    expect(badCount.stderr).toMatch(/^ {2}-n: .*16/m);
    expect((await cli('generate', 'x', '-n', 'two')).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    const missing = await cli('classify', path.join(tmp, 'missing.jpg'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
  });

  it('names the URL when nothing listens there', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await runCli(['models'], { DARKROOM_URL: url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`error: cannot reach darkroom at ${url} (connection refused)`);
  });
});
