import crypto from 'node:crypto';
import fs from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HubApiError, listFiles } from '@huggingface/hub';
import { PullError, type RepoFile, type WantedFile } from './hub-file-selection';

/** Where the Hub is (HF_ENDPOINT) and the token for gated or private repositories (HF_TOKEN). */
export interface HubSettings {
  endpoint: string;
  token?: string;
}

export interface RepoRef {
  repo: string;
  revision: string;
}

/** Tries per file within one run; each one resumes where the last stopped. */
const ATTEMPTS = 4;

const authHeaders = (hub: HubSettings): Record<string, string> =>
  hub.token ? { Authorization: `Bearer ${hub.token}` } : {};

/** The message for a refusal of the Hub: never the token itself. */
function refusal(status: number, hub: HubSettings, ref: RepoRef, what: string): PullError {
  if (status === 401 || status === 403) {
    return new PullError(
      hub.token
        ? `${hub.endpoint} refused HF_TOKEN for ${ref.repo} (${status}): the token lacks access, or its account has not accepted the repository's terms`
        : `${ref.repo} is gated, private or does not exist (${status} from ${hub.endpoint}); set HF_TOKEN to a token with access`,
    );
  }
  if (status === 404) return new PullError(`${what} not found at ${hub.endpoint} (404)`);
  return new PullError(`${hub.endpoint} answered ${status} for ${what}`);
}

/**
 * Every file of the repository at `revision`, with sizes and checksums (the LFS SHA-256 for big
 * files), through the official client. The token goes in a header we add ourselves: the client
 * only accepts tokens shaped like huggingface.co's (`hf_...`), and a mirror may issue others.
 */
export async function listRepoFiles(hub: HubSettings, ref: RepoRef): Promise<RepoFile[]> {
  const authorized: typeof fetch = (input, init) =>
    fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...authHeaders(hub) } });
  const files: RepoFile[] = [];
  try {
    for await (const entry of listFiles({
      repo: ref.repo,
      revision: ref.revision,
      recursive: true,
      hubUrl: hub.endpoint,
      fetch: authorized,
    })) {
      if (entry.type === 'file')
        files.push({
          path: entry.path,
          size: entry.size,
          oid: entry.oid,
          lfs: entry.lfs && { oid: entry.lfs.oid, size: entry.lfs.size },
        });
    }
  } catch (err) {
    if (err instanceof HubApiError) throw refusal(err.statusCode, hub, ref, `${ref.repo} at revision ${ref.revision}`);
    throw new PullError(`cannot list ${ref.repo} at ${hub.endpoint}: ${(err as Error).message}`);
  }
  return files;
}

/** The checksum of a whole file, as the Hub lists it (git hashes blobs with a "blob <size>\0" header). */
export async function fileDigest(file: string, algorithm: WantedFile['digest']['algorithm']): Promise<string> {
  const hash = crypto.createHash(algorithm === 'sha256' ? 'sha256' : 'sha1');
  if (algorithm === 'git-sha1') hash.update(`blob ${fs.statSync(file).size}\0`);
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface DownloadResult {
  /** X-Repo-Commit: the commit the revision pointed at. */
  commit?: string;
}

const sizeOf = (file: string) => (fs.existsSync(file) ? fs.statSync(file).size : 0);

/**
 * Downloads one file to `part`, resuming what is there. @huggingface/hub's downloadFile returns a
 * Blob (whole file, or Xet reconstruction) and cannot continue a partial file on disk, so the bytes
 * come from `resolve` with our own fetch: `Range: bytes=<have>-` plus `If-Range: <ETag>` (a changed
 * file comes back whole, 200, and replaces the partial one). The ETag of the first answer is kept
 * beside the partial file so that a later run resumes as safely.
 */
export async function downloadToPart(
  hub: HubSettings,
  ref: RepoRef,
  file: WantedFile,
  part: string,
  onBytes: (n: number) => void,
): Promise<DownloadResult> {
  const url = `${hub.endpoint.replace(/\/+$/, '')}/${ref.repo}/resolve/${encodeURIComponent(ref.revision)}/${file.repoPath.split('/').map(encodeURIComponent).join('/')}`;
  let commit: string | undefined;
  let lastError: unknown;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    let have = sizeOf(part);
    if (have > file.size) {
      fs.rmSync(part);
      have = 0;
    }
    if (have === file.size && have > 0) return { commit };
    let res: Response;
    try {
      res = await fetch(url, { headers: { ...authHeaders(hub), ...rangeHeaders(part, have) } });
    } catch (err) {
      lastError = err;
      continue;
    }
    commit = res.headers.get('x-repo-commit') ?? commit;
    if (res.status === 416) {
      fs.rmSync(part, { force: true });
      continue;
    }
    if (res.status !== 200 && res.status !== 206)
      throw refusal(res.status, hub, ref, `${file.repoPath} (listed by ${ref.repo} at ${ref.revision})`);
    lastError = await writeAnswer(hub, file, res, part, have, onBytes);
    if (!lastError && sizeOf(part) >= file.size) return { commit };
  }
  throw new PullError(
    `downloading ${file.repoPath} kept failing (${sizeOf(part)} of ${file.size} bytes: ${(lastError as Error | undefined)?.message ?? 'connection closed early'}); run the same command again to resume`,
  );
}

/** Asks for the rest of a partial file, only if it is still the file whose ETag was kept beside it. */
function rangeHeaders(part: string, have: number): Record<string, string> {
  if (have === 0) return {};
  const etagFile = `${part}.etag`;
  const etag = fs.existsSync(etagFile) ? fs.readFileSync(etagFile, 'utf8') : undefined;
  return { Range: `bytes=${have}-`, ...(etag ? { 'If-Range': etag } : {}) };
}

/**
 * Writes a 200 (whole file) or 206 (the rest) answer into `part`. Returns the error of a cut
 * connection, after which the next attempt asks for the rest.
 */
async function writeAnswer(
  hub: HubSettings,
  file: WantedFile,
  res: Response,
  part: string,
  have: number,
  onBytes: (n: number) => void,
): Promise<unknown> {
  const start = res.status === 206 ? Number(/bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1] ?? -1) : 0;
  if (start !== 0 && start !== have)
    throw new PullError(`${hub.endpoint} resumed ${file.repoPath} at byte ${start}, not ${have}`);
  const etag = res.headers.get('etag');
  if (etag) fs.writeFileSync(`${part}.etag`, etag);
  if (start === 0 && have > 0) onBytes(-have);
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
  const out = fs.createWriteStream(part, { flags: start === 0 ? 'w' : 'a' });
  try {
    await pipeline(res.body!, counter, out);
    return undefined;
  } catch (err) {
    // pipeline rejects before the destroyed file stream has closed: measure the part file only
    // once its last write has landed, or the next attempt would append bytes twice.
    if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
    return err;
  }
}
