import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_MODELS, DIST, PHOTOS, REPO } from '../bench/bench-paths';
import { copyApp, packageVersion } from './kit-app';
import { GL_PACKAGES, KIT_ARCHIVE, KIT_MAX_BYTES, KIT_NAME, kitPaths, REDIS_PACKAGE, type KitInfo } from './kit-layout';
import { copyPhotos, copyRealModels, MAX_PHOTO_BYTES } from './kit-models';
import { copyLinkedLibraries, debianPackages, debVersion, elfFiles, highestGlibc, sh } from './kit-packages';

/**
 * `npm run gpu:kit`: gpu-kit/darkroom-gpu-kit.tar.xz, everything a bare GPU machine (no Node, no
 * Redis, no network) needs to run darkroom's GPU proof with one command, `bash run.sh`. See
 * docs/gpu.md. Debian packages are cached in .gpu-kit-cache/ (git-ignored); gpu-kit/ holds only
 * the archive, so a device call can carry that folder whole.
 */
const OUT_DIR = path.join(REPO, 'gpu-kit');
const CACHE = path.join(REPO, '.gpu-kit-cache', 'debs');
const log = (line: string) => process.stdout.write(`gpu:kit: ${line}\n`);
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

function requireInputs(): void {
  const needs = [path.join(DIST, 'workers', 'main.js'), path.join(DIST, 'scripts', 'gpu-kit', 'kit-runner.js'), path.join(DEMO_MODELS, 'demo-diffusion', 'unet', 'model.onnx')];
  const missing = needs.filter((p) => !fs.existsSync(p));
  if (missing.length) throw new Error(`build and make the demo models first (npm run gpu:kit does both); missing: ${missing.join(', ')}`);
}

/** redis-server from Debian's package, with the libraries it links that a bare machine may lack, behind a wrapper that finds them. */
function addRedis(redisDir: string): string {
  const [deb] = debianPackages([REDIS_PACKAGE], CACHE);
  const unpacked = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-kit-redis-'));
  try {
    sh('dpkg', ['-x', deb, unpacked]);
    fs.mkdirSync(path.join(redisDir, 'bin'), { recursive: true });
    const binary = path.join(redisDir, 'bin', 'redis-server');
    fs.copyFileSync(path.join(unpacked, 'usr', 'bin', 'redis-check-rdb'), binary);
    fs.chmodSync(binary, 0o755);
    const libs = copyLinkedLibraries(binary, path.join(redisDir, 'lib'));
    const wrapper = path.join(redisDir, 'redis-server');
    fs.writeFileSync(wrapper, '#!/bin/sh\n# Debian\'s redis-server with the libraries shipped beside it.\nhere="$(dirname "$(readlink -f "$0")")"\nLD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/bin/redis-server" "$@"\n');
    fs.chmodSync(wrapper, 0o755);
    log(`redis-server ${debVersion(deb)} with ${libs.join(', ')}`);
    return debVersion(deb);
  } finally {
    fs.rmSync(unpacked, { recursive: true, force: true });
  }
}

function gitInfo(): { commit: string; dirty: boolean } {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: REPO, encoding: 'utf8' });
  return { commit: git('rev-parse', 'HEAD').stdout.trim() || 'unknown', dirty: git('status', '--porcelain').stdout.trim() !== '' };
}

/** Sizes of the kit's top-level parts, largest first (what to prune when the archive grows past its limit). */
function partSizes(kit: string): string {
  const du = sh('du', ['-sb', ...fs.readdirSync(kit).map((f) => path.join(kit, f))]);
  return du.trim().split('\n').map((l) => l.split('\t')).sort((a, b) => Number(b[0]) - Number(a[0])).map(([b, p]) => `${path.basename(p)} ${mib(Number(b))}`).join(', ');
}

/** `--stage-only DIR`: lay the kit out in DIR and stop (to look inside it, or measure its parts), no archive. */
async function main(argv: string[]) {
  const started = Date.now();
  requireInputs();
  const stageOnly = argv[0] === '--stage-only' ? path.resolve(argv[1]) : undefined;
  const stage = stageOnly ?? fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-kit-stage-'));
  if (stageOnly) fs.rmSync(path.join(stage, KIT_NAME), { recursive: true, force: true });
  try {
    const kit = kitPaths(path.join(stage, KIT_NAME));
    fs.mkdirSync(path.dirname(kit.node), { recursive: true });
    fs.copyFileSync(process.execPath, kit.node);
    fs.chmodSync(kit.node, 0o755);
    // Its symbol table and debug info: about 2 MiB of the archive, and nothing at run time needs them.
    const stripped = spawnSync('strip', ['--strip-all', kit.node]).status === 0;
    const { packages } = copyApp(REPO, kit.app);
    log(`node ${process.version} (${process.execPath}), ${packages} production packages`);
    const models = copyRealModels(REPO, kit.models);
    const { photos, recompressed, leftOut } = await copyPhotos(PHOTOS, kit.photos);
    log(`${photos} photos (${recompressed} PNGs recompressed, pixels unchanged; over ${MAX_PHOTO_BYTES / 1024} KiB, left out: ${leftOut.join(', ') || 'none'})`);
    const redis = addRedis(kit.redis);
    const glDebs = debianPackages(GL_PACKAGES, CACHE);
    fs.mkdirSync(kit.glDebs, { recursive: true });
    for (const deb of glDebs) fs.copyFileSync(deb, path.join(kit.glDebs, path.basename(deb)));
    fs.copyFileSync(path.join(REPO, 'scripts', 'gpu-kit', 'run.sh'), path.join(kit.kit, 'run.sh'));
    fs.chmodSync(path.join(kit.kit, 'run.sh'), 0o755);
    const ortBin = path.join(kit.app, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'linux', 'x64');
    const git = gitInfo();
    const info: KitInfo = {
      built_at: new Date().toISOString(),
      git_commit: git.commit,
      git_dirty: git.dirty,
      node_version: process.version,
      node_binary: `${process.execPath}${stripped ? ', stripped' : ''}`,
      onnxruntime_node: packageVersion(REPO, 'onnxruntime-node'),
      sharp: packageVersion(REPO, 'sharp'),
      redis,
      gl_packages: glDebs.map((d) => path.basename(d)),
      models: ['demo-diffusion', 'demo-cppn', 'demo-colors', ...models],
      photos,
      photos_left_out: leftOut,
      needs_glibc: highestGlibc(elfFiles(kit.kit)),
      cuda_provider: fs.existsSync(path.join(ortBin, 'libonnxruntime_providers_cuda.so'))
        ? 'libonnxruntime_providers_cuda.so from this build machine\'s onnxruntime-node'
        : 'none: no package reachable from the build machine ships it for onnxruntime 1.30 (docs/gpu.md)',
    };
    fs.writeFileSync(kit.info, `${JSON.stringify(info, null, 2)}\n`);
    log(`contents: ${partSizes(kit.kit)}; needs glibc >= ${info.needs_glibc}`);
    if (stageOnly) return log(`laid out in ${kit.kit} (no archive)`);
    fs.mkdirSync(OUT_DIR, { recursive: true });
    const archive = path.join(OUT_DIR, KIT_ARCHIVE);
    const partial = `${archive}.partial`;
    log('compressing (xz -T2 -6)...');
    sh('bash', ['-c', 'set -o pipefail; tar -C "$1" --owner=0 --group=0 --numeric-owner -cf - "$2" | xz -T2 -6 > "$3"', 'tar', stage, KIT_NAME, partial]);
    fs.renameSync(partial, archive);
    const size = fs.statSync(archive).size;
    log(`${path.relative(REPO, archive)}: ${mib(size)} (limit ${mib(KIT_MAX_BYTES)}) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (size > KIT_MAX_BYTES) {
      fs.rmSync(archive);
      throw new Error(`the kit is ${mib(size)}, over its ${mib(KIT_MAX_BYTES)} limit; removed it. Largest parts: ${partSizes(kit.kit)}`);
    }
  } finally {
    if (!stageOnly) fs.rmSync(stage, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`gpu:kit: ${(err as Error).message}\n`);
  process.exit(1);
});
