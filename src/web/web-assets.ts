import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** URL prefix of the page's static files (CSS, JS, icon). */
export const ASSETS_PATH = '/assets';

/**
 * The folder holding the page's static files. tsc copies no non-TS files into dist/, so the
 * folder is found from the repo root (the nearest folder with a package.json), which works
 * both from src/ (jest) and from dist/src/ (after `npm run build`).
 */
export function webPublicDir(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return path.join(dir, 'src', 'web', 'public');
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}: cannot find the web page's files (src/web/public)`);
  }
}

/**
 * Reads index.html once and replaces each `{{v:FILE}}` with a short hash of that file, so asset
 * URLs change whenever their content does and the assets themselves can be cached for good.
 */
export function renderIndexPage(publicDir: string): string {
  const template = fs.readFileSync(path.join(publicDir, 'index.html'), 'utf8');
  return template.replace(/\{\{v:([\w.-]+)\}\}/g, (_match, file: string) => {
    const content = fs.readFileSync(path.join(publicDir, file));
    return createHash('sha256').update(content).digest('hex').slice(0, 12);
  });
}
