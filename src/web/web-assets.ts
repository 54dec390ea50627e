import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** URL prefix of the page's static files (CSS, JS, icon). */
export const ASSETS_PATH = '/assets';

/** The files served under ASSETS_PATH; index.html is the page itself, and type declarations are for tsc only. */
const SERVED_FILE = /^[\w-]+\.(js|css|svg)$/;

/**
 * A static import (or re-export) of a sibling module, as a statement at the start of a line:
 * `import { a } from './x.js'`, `export { b } from './x.js'`, `import './x.js'`. JSDoc type
 * imports (`@import … from`) start with ` *` and are left alone.
 */
const MODULE_IMPORT = /^((?:import|export)\b[^;'"]*?\bfrom\s*|import\s*)(['"])\.\/([\w-]+\.js)\2/gm;

/** One file of the page as served: its bytes and a short hash of them, for `?v=`. */
export interface WebAsset {
  body: Buffer;
  version: string;
}

/**
 * The folder holding the page's static files. tsc copies no non-TS files into dist/, so the
 * folder is found from the repo root (the nearest folder with a package.json), which works
 * both from src/ (jest) and from dist/src/ (after `npm run build`).
 */
export function webPublicDir(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'src', 'web', 'public');
    if (path.dirname(dir) === dir)
      throw new Error(`no package.json above ${from}: cannot find the web page's files (src/web/public)`);
  }
}

const versionOf = (body: Buffer) => createHash('sha256').update(body).digest('hex').slice(0, 12);

/**
 * Reads the page's files once. The page's ES modules import each other by relative URL, which
 * index.html cannot version; so each import of a sibling module is served with that module's
 * version appended (`from './dom.js?v=…'`). A module's version is the hash of what is served, which
 * holds the versions of what it imports: a change to any module changes the URL of every module
 * that leads to it, and every URL the page loads can be cached for good.
 */
export function loadWebAssets(publicDir: string): Map<string, WebAsset> {
  const sources = new Map(
    fs
      .readdirSync(publicDir)
      .filter((file) => SERVED_FILE.test(file))
      .map((file) => [file, fs.readFileSync(path.join(publicDir, file))]),
  );
  const assets = new Map<string, WebAsset>();
  const load = (file: string, importers: string[]): WebAsset => {
    const done = assets.get(file);
    if (done) return done;
    if (importers.includes(file))
      throw new Error(`the web page's modules import each other in a cycle: ${[...importers, file].join(' -> ')}`);
    const source = sources.get(file)!;
    const body = !file.endsWith('.js')
      ? source
      : Buffer.from(
          source.toString('utf8').replace(MODULE_IMPORT, (_match, lead: string, quote: string, imported: string) => {
            if (!sources.has(imported))
              throw new Error(`${file} imports ./${imported}, which is not a file of the page in ${publicDir}`);
            return `${lead}${quote}./${imported}?v=${load(imported, [...importers, file]).version}${quote}`;
          }),
        );
    const asset = { body, version: versionOf(body) };
    assets.set(file, asset);
    return asset;
  };
  for (const file of sources.keys()) load(file, []);
  return assets;
}

/** index.html with each `{{v:FILE}}` replaced by the version of that asset, so its URL changes whenever its content does. */
export function renderIndexPage(publicDir: string, assets: Map<string, WebAsset>): string {
  const template = fs.readFileSync(path.join(publicDir, 'index.html'), 'utf8');
  return template.replace(/\{\{v:([\w.-]+)\}\}/g, (_match, file: string) => {
    const asset = assets.get(file);
    if (!asset) throw new Error(`index.html names ${file}, which is not a file of the page in ${publicDir}`);
    return asset.version;
  });
}
