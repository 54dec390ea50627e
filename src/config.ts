import fs from 'node:fs';
import path from 'node:path';
import { envSchema } from './config/env-schema';
import type { Config } from './config/sections';
import { toSections } from './config/to-sections';
import { maskUrlCredentials } from './log-redaction';

export type * from './config/sections';

/** Thrown when the environment is invalid; lists every bad variable at once. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment once; the only place that reads process.env. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map(
        (i) => `${i.path.join('.')}: ${i.message}${shownValue(String(i.path[0]), present[String(i.path[0])])}`,
      ),
    );
  }
  const c = parsed.data;
  // Batches are BullMQ flows: a child's completion updates its parent in another queue, in one script.
  if (c.REDIS_CLUSTER_NODES && present.QUEUE_PREFIX !== undefined && !c.QUEUE_PREFIX.startsWith('{'))
    throw new ConfigError([
      `QUEUE_PREFIX: on a Redis Cluster it must be a hash tag such as {darkroom}, so all queues share a slot (got "${c.QUEUE_PREFIX}")`,
    ]);
  // Paths the user gives are relative to where they start darkroom; the defaults belong to the package.
  const base = (variable: string) => (present[variable] === undefined ? packageRoot() : cwd);
  const dataDir = path.resolve(base('DATA_DIR'), c.DATA_DIR);
  const modelsDir = c.MODELS_DIR ? path.resolve(cwd, c.MODELS_DIR) : path.join(dataDir, 'models');
  return toSections(c, {
    dataDir,
    modelsDir,
    // Explicitly empty: no models of its own (an API serving what the fleet offers).
    modelsPath:
      env.MODELS_PATH === ''
        ? []
        : c.MODELS_PATH
          ? c.MODELS_PATH.map((p) => path.resolve(cwd, p))
          : [path.join(packageRoot(), 'models', 'demo'), modelsDir],
    // On a Cluster, every key darkroom and BullMQ write shares one hash tag (docs/scaling.md).
    prefix: c.REDIS_CLUSTER_NODES && present.QUEUE_PREFIX === undefined ? `{${c.QUEUE_PREFIX}}` : c.QUEUE_PREFIX,
  });
}

/** Variables whose values are credentials: a config error names them but never shows the value. */
const SECRET_VARIABLES = new Set([
  'ADMIN_PASSWORD',
  'WEBHOOK_SECRET',
  'API_KEYS',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'HF_TOKEN',
  'REDIS_PASSWORD',
  'REDIS_SENTINEL_PASSWORD',
]);

/** The bad value, as a hint in a config error: secrets left out, passwords inside URLs masked. */
function shownValue(variable: string, value: string | undefined): string {
  if (value === undefined || SECRET_VARIABLES.has(variable)) return '';
  return ` (got ${JSON.stringify(maskUrlCredentials(value))})`;
}

/** The folder of darkroom's package.json, whether this runs compiled (dist/src) or from source (src). */
function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** Whether a host string binds only to the loopback interface. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** Every environment variable darkroom reads (for docs and deployment-file checks). */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape);
