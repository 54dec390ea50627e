import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Runs a command; throws with its output when it fails. */
export function sh(command: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const res = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (res.error) throw new Error(`${command} ${args.join(' ')}: ${res.error.message}`);
  if (res.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${res.status}:\n${String(res.stderr ?? '').slice(-3000)}${String(res.stdout ?? '').slice(-1000)}`);
  return String(res.stdout ?? '');
}

/**
 * Debian packages as .deb files, fetched once into `cacheDir` (git-ignored) with `apt-get
 * download`. A machine whose package lists are empty (a fresh CI machine) gets `apt-get update`
 * once, as .ci/run does before it installs redis-server.
 */
export function debianPackages(names: string[], cacheDir: string): string[] {
  fs.mkdirSync(cacheDir, { recursive: true });
  const cached = (name: string) => fs.readdirSync(cacheDir).find((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
  const missing = names.filter((n) => !cached(n));
  if (missing.length) {
    const download = () => spawnSync('apt-get', ['download', ...missing], { cwd: cacheDir, encoding: 'utf8' });
    let res = download();
    if (res.status !== 0) {
      sh('apt-get', ['update', '-qq']);
      res = download();
    }
    if (res.status !== 0) throw new Error(`apt-get download ${missing.join(' ')} failed (the kit needs Debian's packages; run as root on Debian):\n${res.stderr}`);
  }
  return names.map((n) => path.join(cacheDir, cached(n)!));
}

/** Version of a .deb file, from its control data. */
export const debVersion = (deb: string) => sh('dpkg-deb', ['-f', deb, 'Version']).trim();

/** Shared libraries every Linux machine that runs Node has; the kit never ships these. */
const SYSTEM_LIBS = /^(libc|libm|libdl|libpthread|librt|libresolv|ld-linux[-\w]*|libstdc\+\+|libgcc_s)\.so/;

/**
 * Copies the shared libraries `binary` links (as ldd resolves them here), except glibc's and the
 * C++ runtime's, into `libDir`: a bare machine may lack libjemalloc, liblzf, OpenSSL or libsystemd.
 */
export function copyLinkedLibraries(binary: string, libDir: string): string[] {
  fs.mkdirSync(libDir, { recursive: true });
  const copied: string[] = [];
  for (const line of sh('ldd', [binary]).split('\n')) {
    const m = /^\s*(\S+) => (\S+)/.exec(line);
    if (!m) continue;
    if (m[2] === 'not') throw new Error(`${binary} needs ${m[1]}, which this machine lacks; install redis-server (apt-get install redis-server) and build again`);
    if (SYSTEM_LIBS.test(m[1])) continue;
    fs.copyFileSync(fs.realpathSync(m[2]), path.join(libDir, m[1]));
    copied.push(m[1]);
  }
  return copied;
}

/** The highest GLIBC_x.y version named in any of `files` (the symbol versions a binary requires). */
export function highestGlibc(files: string[]): string {
  let best = [0, 0, 0];
  for (const file of files) {
    const text = fs.readFileSync(file).toString('latin1');
    for (const m of text.matchAll(/GLIBC_(\d+)\.(\d+)(?:\.(\d+))?/g)) {
      const v = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
      if (v[0] > best[0] || (v[0] === best[0] && (v[1] > best[1] || (v[1] === best[1] && v[2] > best[2])))) best = v;
    }
  }
  return best.slice(0, best[2] ? 3 : 2).join('.');
}

/** Every ELF file (executables, .so, .node) under `dir`. */
export function elfFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(4);
    fs.readSync(fd, head, 0, 4, 0);
    fs.closeSync(fd);
    if (head.toString('latin1') === '\x7fELF') out.push(file);
  }
  return out;
}
