import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

/**
 * A local server speaking the parts of the Hugging Face Hub's HTTP API that `darkroom models pull`
 * uses, serving folders as repositories: the tree listing (`GET /api/models/:owner/:name/tree/
 * :revision[/path]?recursive=true`, the Hub's JSON: oid, size, lfs {oid, size, pointerSize}) and
 * `HEAD`/`GET /:owner/:name/resolve/:revision/:path` with Range, If-Range, ETag, X-Repo-Commit and
 * X-Linked-Size/X-Linked-Etag for LFS files. Gated repositories answer 401 without a bearer token
 * and 403 with a wrong one. Faults: cut a file's download once after N bytes, flip a byte, answer
 * 404 for a listed file, or leave a file out of the listing.
 */

export interface HubRepo {
  dir: string;
  gated?: boolean;
}

export interface HubRequest {
  method: string;
  path: string;
  range?: string;
  ifRange?: string;
  authorized: boolean;
}

export interface HubServer {
  url: string;
  token: string;
  commit: string;
  requests: HubRequest[];
  cutOnce(repo: string, file: string, afterBytes: number): void;
  corrupt(repo: string, file: string, offset: number): void;
  breakLink(repo: string, file: string): void;
  hide(repo: string, file: string): void;
  clearFaults(): void;
  stop(): Promise<void>;
}

/** What the real Hub stores with Git LFS. */
const LFS = /\.(onnx|onnx_data|pb|bin|safetensors)$/;
const COMMIT = 'c0ffee0000000000000000000000000000c0ffee';
const TOKEN = 'hf_local_test_token_0123456789';

const sha = (algorithm: 'sha1' | 'sha256', data: Buffer | string) =>
  crypto.createHash(algorithm).update(data).digest('hex');
const gitOid = (data: Buffer) => sha('sha1', Buffer.concat([Buffer.from(`blob ${data.length}\0`), data]));

function walk(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

function treeEntry(dir: string, file: string): Record<string, unknown> {
  const data = fs.readFileSync(path.join(dir, file));
  if (!LFS.test(file)) return { type: 'file', oid: gitOid(data), size: data.length, path: file };
  const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${sha('sha256', data)}\nsize ${data.length}\n`;
  return {
    type: 'file',
    oid: gitOid(Buffer.from(pointer)),
    size: data.length,
    path: file,
    lfs: { oid: sha('sha256', data), size: data.length, pointerSize: pointer.length },
  };
}

export async function startHubServer(repos: Record<string, HubRepo>): Promise<HubServer> {
  const requests: HubRequest[] = [];
  const cuts = new Map<string, number>();
  const corruptions = new Map<string, number>();
  const broken = new Set<string>();
  const hidden = new Set<string>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub');
    const auth = req.headers.authorization;
    const requestPath = decodeURIComponent(url.pathname);
    requests.push({
      method: req.method ?? '',
      path: requestPath,
      range: req.headers.range,
      ifRange: req.headers['if-range'] as string | undefined,
      authorized: auth === `Bearer ${TOKEN}`,
    });
    const fail = (status: number, message: string, code?: string) => {
      res.writeHead(status, { 'content-type': 'application/json', ...(code ? { 'x-error-code': code } : {}) });
      res.end(JSON.stringify({ error: message }));
    };
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)(?:\/(.*))?$/.exec(requestPath);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(requestPath);
    const repoId = tree?.[1] ?? resolve?.[1];
    const repo = repoId ? repos[repoId] : undefined;
    if (!repo || !repoId) return fail(401, 'Repository not found', 'RepoNotFound'); // as the Hub answers anonymous callers
    if (repo.gated && !auth)
      return fail(
        401,
        `Access to model ${repoId} is restricted. You must have access to it and be authenticated to access it.`,
        'GatedRepo',
      );
    if (repo.gated && auth !== `Bearer ${TOKEN}`)
      return fail(403, `Access to model ${repoId} is restricted and you are not in the authorized list.`, 'GatedRepo');
    const revision = tree?.[2] ?? resolve?.[2];
    if (revision !== 'main' && revision !== COMMIT) return fail(404, `Invalid rev id: ${revision}`, 'RevisionNotFound');
    const key = (file: string) => `${repoId}:${file}`;

    if (tree && req.method === 'GET') {
      const under = tree[3] ? `${tree[3].replace(/\/$/, '')}/` : '';
      const files = walk(repo.dir).filter((f) => f.startsWith(under) && !hidden.has(key(f)));
      const recursive = url.searchParams.get('recursive') === 'true';
      const shown = files.filter((f) => recursive || !f.slice(under.length).includes('/'));
      const dirs = [
        ...new Set(
          shown.flatMap((f) =>
            f
              .split('/')
              .slice(0, -1)
              .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
          ),
        ),
      ].filter((d) => d.startsWith(under) && d !== under.slice(0, -1));
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(
        JSON.stringify([
          ...dirs.map((d) => ({ type: 'directory', oid: sha('sha1', d), size: 0, path: d })),
          ...shown.map((f) => treeEntry(repo.dir, f)),
        ]),
      );
    }
    if (!resolve || (req.method !== 'GET' && req.method !== 'HEAD')) return fail(404, 'Not found');
    const file = resolve[3];
    const full = path.join(repo.dir, file);
    if (hidden.has(key(file)) || broken.has(key(file)) || !full.startsWith(repo.dir + path.sep) || !fs.existsSync(full))
      return fail(404, 'Entry not found', 'EntryNotFound');
    let data = fs.readFileSync(full);
    const entry = treeEntry(repo.dir, file) as { oid: string; lfs?: { oid: string } };
    const etag = `"${entry.lfs?.oid ?? entry.oid}"`;
    const corruptAt = corruptions.get(key(file));
    if (corruptAt !== undefined) {
      data = Buffer.from(data);
      data[corruptAt] ^= 0xff;
    }
    const headers: Record<string, string | number> = {
      etag,
      'x-repo-commit': COMMIT,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
    };
    if (entry.lfs) Object.assign(headers, { 'x-linked-size': data.length, 'x-linked-etag': etag });
    let start = 0;
    let end = data.length - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range && (!ifRange || ifRange === etag)) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), end) : end;
      if (start > end) {
        res.writeHead(416, { 'content-range': `bytes */${data.length}` });
        return res.end();
      }
      res.writeHead(206, {
        ...headers,
        'content-range': `bytes ${start}-${end}/${data.length}`,
        'content-length': end - start + 1,
      });
    } else {
      res.writeHead(200, { ...headers, 'content-length': data.length });
    }
    if (req.method === 'HEAD') return res.end();
    const body = data.subarray(start, end + 1);
    const cut = cuts.get(key(file));
    if (cut !== undefined && cut < body.length) {
      cuts.delete(key(file));
      // Flush the first bytes, then drop the connection mid-body as a failing network would.
      return res.write(body.subarray(0, cut), () => res.socket?.destroy());
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token: TOKEN,
    commit: COMMIT,
    requests,
    cutOnce: (repo, file, afterBytes) => void cuts.set(`${repo}:${file}`, afterBytes),
    corrupt: (repo, file, offset) => void corruptions.set(`${repo}:${file}`, offset),
    breakLink: (repo, file) => void broken.add(`${repo}:${file}`),
    hide: (repo, file) => void hidden.add(`${repo}:${file}`),
    clearFaults() {
      cuts.clear();
      corruptions.clear();
      broken.clear();
      hidden.clear();
      requests.length = 0;
    },
    stop: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}
