import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { assertSafeKey, BlobNotFoundError, type BlobStore } from './blob-store';

// The hot path (a worker reads each staged input and writes each output) uses fs's callback
// functions, promisified: in Node 20, fs/promises' readFile and writeFile take more CPU per call on
// the calling thread (readFile goes through a FileHandle, with a promise per open, stat, read and close).
const readFile = promisify(fs.readFile);
const writeFile = promisify(fs.writeFile);
const rename = promisify(fs.rename);
const open = promisify(fs.open);
const read = promisify(fs.read);
const close = promisify(fs.close);

/** A blob store on a local (or shared network) filesystem. */
export function createFsBlobStore(root: string): BlobStore {
  const resolve = (key: string) => path.join(root, assertSafeKey(key));
  const notFound = (key: string, err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new BlobNotFoundError(key);
    return err;
  };

  return {
    put: async (key, data) => writeAtomically(resolve(key), data),
    async get(key) {
      try {
        return await readFile(resolve(key));
      } catch (err) {
        throw notFound(key, err);
      }
    },
    async readInto(key, target) {
      let fd: number;
      try {
        fd = await open(resolve(key), 'r');
      } catch (err) {
        throw notFound(key, err);
      }
      try {
        let filled = 0;
        while (filled < target.length) {
          const { bytesRead } = await read(fd, target, filled, target.length - filled, filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return filled;
      } finally {
        await close(fd);
      }
    },
    async open(key) {
      const file = resolve(key);
      try {
        await fsp.access(file);
      } catch (err) {
        throw notFound(key, err);
      }
      return fs.createReadStream(file);
    },
    async size(key) {
      const file = resolve(key);
      try {
        return (await fsp.stat(file)).size;
      } catch {
        return undefined;
      }
    },
    async removePrefix(prefix) {
      await fsp.rm(resolve(prefix), { recursive: true, force: true });
    },
    sweep: (maxAgeMs, isLive) => sweepJobs(root, maxAgeMs, isLive),
  };
}

// Temporary names: random per process (processes on other hosts may share the folder), then a count.
const TMP_PREFIX = randomBytes(6).toString('hex');
let tmpCount = 0;

/** Writes a temporary file beside `file`, then renames it, so a reader never sees half a blob. */
async function writeAtomically(file: string, data: Buffer): Promise<void> {
  const tmp = `${file}.${TMP_PREFIX}-${(tmpCount++).toString(36)}.tmp`;
  try {
    await writeFile(tmp, data);
  } catch (err) {
    // The folder is made on the first write into it, not tried before every write.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await writeFile(tmp, data);
  }
  await rename(tmp, file);
}

/** Removes each job folder untouched for `maxAgeMs` whose job is not live; returns how many. */
async function sweepJobs(
  root: string,
  maxAgeMs: number,
  isLive: ((jobId: string) => Promise<boolean>) | undefined,
): Promise<number> {
  const jobsDir = path.join(root, 'jobs');
  const entries = await fsp.readdir(jobsDir).catch(() => [] as string[]);
  const cutoff = Date.now() - maxAgeMs;
  let removed = 0;
  for (const entry of entries) {
    const dir = path.join(jobsDir, entry);
    if ((await newestMtime(dir)) < cutoff && !(await isLive?.(entry))) {
      await fsp.rm(dir, { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  const entries = await fsp.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const e of entries) {
    const stat = await fsp.stat(path.join(e.parentPath, e.name)).catch(() => undefined);
    if (stat && stat.mtimeMs > newest) newest = stat.mtimeMs;
  }
  return (
    newest ||
    (await fsp.stat(dir).then(
      (s) => s.mtimeMs,
      () => 0,
    ))
  );
}
