import fs from 'node:fs';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..');
export const DIST = path.join(REPO, 'dist');
export const SHARED = path.resolve(REPO, '..', 'shared');
export const FIXTURE_MODELS = path.join(REPO, 'tests', 'fixtures', 'models');
export const DEMO_MODELS = path.join(REPO, 'models', 'demo');

/** Fails (never skips) with a message that says what is missing and how to get it. */
export function requirePath(p: string, what: string, hint: string): string {
  if (!fs.existsSync(p)) throw new Error(`${what} is missing at ${p}: ${hint}`);
  return p;
}

export const requireShared = (sub: string) =>
  requirePath(
    path.join(SHARED, sub),
    `shared test data (${sub})`,
    'the ../shared folder beside the repo holds the real models and photos the tests use',
  );

export const requireBuilt = () =>
  requirePath(
    path.join(DIST, 'workers', 'main.js'),
    'the compiled server',
    'run `npm run build` (npm test does it) before jest',
  );
