import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { REPO } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';

/** The README's OpenAI TypeScript example, exactly as written: type-checked, then run against a real server. */

const ARTIFACTS = path.join(REPO, 'tests', 'artifacts');
const BIN = path.join(REPO, 'node_modules', '.bin');

/** The ```ts block of README.md that imports `openai`. */
function readmeSnippet(): string {
  const blocks = [...fs.readFileSync(path.join(REPO, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)];
  const snippet = blocks.map((b) => b[1]).find((code) => code.includes("from 'openai'"));
  if (!snippet) throw new Error('README.md has no ```ts block importing openai');
  return snippet;
}

function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    execFile(file, args, { cwd, env: { ...process.env, ...env }, timeout: 90_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

let stack: Stack;
let workDir: string;
let file: string;
beforeAll(async () => {
  stack = await startStack();
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'darkroom-readme-'));
  // Inside the repository, so `openai` resolves from its node_modules as it would from the reader's.
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  file = path.join(ARTIFACTS, 'lighthouse.mts');
  fs.writeFileSync(file, readmeSnippet());
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

test('it type-checks against the installed openai package', async () => {
  const args = [
    '--noEmit',
    '--strict',
    '--skipLibCheck',
    '--target',
    'es2022',
    '--module',
    'nodenext',
    '--types',
    'node',
    file,
  ];
  const checked = await run(path.join(BIN, 'tsc'), args, REPO);
  expect(checked).toEqual({ code: 0, output: '' });
}, 90_000);

test('it runs as written and saves two 256x256 PNGs', async () => {
  const ran = await run(path.join(BIN, 'tsx'), [file], workDir, { DARKROOM_URL: stack.url });
  expect(ran).toEqual({ code: 0, output: 'saved 2 images\n' });
  for (const name of ['lighthouse-0.png', 'lighthouse-1.png']) {
    const meta = await sharp(path.join(workDir, name)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 256, 256]);
  }
}, 90_000);
