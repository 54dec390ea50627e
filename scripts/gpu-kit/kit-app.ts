import fs from 'node:fs';
import path from 'node:path';
import { sh } from './kit-packages';

/**
 * Packages in the production tree that the kit's processes never load: typescript wherever it is
 * (valibot names it as an optional peer), and the top-level protobufjs, which nothing in dist/
 * requires. onnx-proto, and the protobufjs it bundles, stay: a worker rewrites each classifier's
 * graph with them as it loads it (workers/runtime/pixel-input-graph.ts).
 */
const UNUSED_ANYWHERE = new Set(['typescript']);
const UNUSED_TOP_LEVEL = new Set(['protobufjs']);

/** Folders of one package that nothing loads at run time: protobufjs's command-line tools bring 19 MB of their own node_modules. */
const UNUSED_PACKAGE_DIR: Record<string, RegExp> = { protobufjs: /^cli$/ };

/** Files nothing loads at run time: source maps, type declarations, TypeScript sources, docs. */
const UNUSED_FILE = /\.(map|d\.ts|d\.mts|d\.cts|ts|mts|cts|md|markdown)$/i;

/** Native binaries for other platforms: onnxruntime-node's bin/ and the bare-* packages' prebuilds/ (the GPU machine is linux/x64). */
const OTHER_PLATFORMS = /^(bin\/napi-v\d+\/(darwin|win32|linux\/arm64)|prebuilds\/(?!linux-x64(\/|$))[^/]+)(\/|$)/;

/**
 * A package's own tests and examples (bintrees ships 2 MB of test data), and the ES-module copies
 * the AWS SDK and smithy packages ship beside their CommonJS builds (darkroom is CommonJS:
 * `require` resolves their dist-cjs).
 */
const UNUSED_DIR = /^(test|tests|example|examples|dist-es)$/;

/** Production packages (npm's own view of the lockfile, no network): their folders under node_modules. */
function productionPackages(repo: string): string[] {
  const out = sh('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: repo, env: { ...process.env, npm_config_loglevel: 'error' } });
  const root = path.join(repo, 'node_modules') + path.sep;
  return [...new Set(out.split('\n').map((l) => l.trim()).filter((p) => p.startsWith(root)))].filter((p) => {
    const names = path.relative(root, p).split(`${path.sep}node_modules${path.sep}`);
    return !names.some((n) => UNUSED_ANYWHERE.has(n)) && !(names.length === 1 && UNUSED_TOP_LEVEL.has(names[0]));
  });
}

/** Copies one package folder without its nested node_modules (those are listed, and copied, on their own). */
function copyPackage(src: string, dst: string): void {
  const nested = path.join(src, 'node_modules');
  const unusedDir = UNUSED_PACKAGE_DIR[path.basename(src)];
  fs.cpSync(src, dst, {
    recursive: true,
    filter: (from) => {
      if (from === nested || from.startsWith(nested + path.sep)) return false;
      const rel = path.relative(src, from);
      if (UNUSED_DIR.test(rel) || unusedDir?.test(rel)) return false;
      if (UNUSED_FILE.test(from) && fs.statSync(from).isFile()) return false;
      return !OTHER_PLATFORMS.test(rel);
    },
  });
}

/** The built project as the kit runs it: package.json, dist/ without source maps, the web page's files (read from src/web/public), demo models, production dependencies. */
export function copyApp(repo: string, appDir: string): { packages: number } {
  fs.mkdirSync(appDir, { recursive: true });
  fs.copyFileSync(path.join(repo, 'package.json'), path.join(appDir, 'package.json'));
  fs.cpSync(path.join(repo, 'dist'), path.join(appDir, 'dist'), { recursive: true, filter: (f) => !f.endsWith('.map') });
  fs.cpSync(path.join(repo, 'src', 'web', 'public'), path.join(appDir, 'src', 'web', 'public'), { recursive: true });
  fs.cpSync(path.join(repo, 'models', 'demo'), path.join(appDir, 'models', 'demo'), { recursive: true });
  const packages = productionPackages(repo);
  for (const pkg of packages) copyPackage(pkg, path.join(appDir, path.relative(repo, pkg)));
  return { packages: packages.length };
}

/** Version field of an installed package. */
export const packageVersion = (repo: string, name: string) =>
  (JSON.parse(fs.readFileSync(path.join(repo, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
