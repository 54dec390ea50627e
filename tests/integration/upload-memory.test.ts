import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { requireShared } from '../helpers/paths';
import { startStack, type Stack } from '../helpers/stack';

/**
 * Multipart uploads are capped as a whole (MAX_UPLOAD_BYTES, 20 MB by default), not only per file,
 * and counted while they stream (issue 9, item 4): 4 requests of 16 parts of 19 MB at once leave the
 * API's memory almost where it was.
 */
const MB = 1024 * 1024;
const RSS_GROWTH_LIMIT_MB = 256;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ noWorkers: true, env: { RATE_LIMIT_PER_MINUTE: '100000' } });
});
afterAll(async () => {
  await stack?.stop();
});

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

interface Answer {
  status: number;
  body: any;
  /** Bytes of the body the client had written when the answer came. */
  sent: number;
}

/**
 * POSTs a multipart body of `parts` image parts of `partBytes` each, generated as it is sent (the
 * test never holds it), chunked so that no Content-Length announces its size. Stops sending once
 * the server has answered.
 */
function uploadParts(
  url: string,
  parts: number,
  partBytes: number,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const boundary = 'darkroom-test-boundary';
  const chunk = Buffer.alloc(MB, 0xab);
  return new Promise((resolve, reject) => {
    let answered = false;
    let sent = 0;
    const req = http.request(url, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...headers },
    });
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined, sent });
        req.destroy();
      });
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const write = (data: Buffer | string) =>
      new Promise<void>((done) => {
        sent += data.length;
        if (req.write(data)) done();
        else req.once('drain', done);
      });
    void (async () => {
      for (let p = 0; p < parts && !answered; p++) {
        await write(
          `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="part-${p}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
        );
        for (let left = partBytes; left > 0 && !answered; left -= chunk.length)
          await write(left >= chunk.length ? chunk : chunk.subarray(0, left));
        if (!answered) await write('\r\n');
      }
      if (!answered) req.end(`--${boundary}--\r\n`);
    })().catch(reject);
  });
}

test('4 uploads of 16 parts of 19 MB at once: each a 413 early, and the API grows by less than 256 MB', async () => {
  const pid = stack.api.child.pid!;
  const before = rssMb(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20);
  const answers = await Promise.all(
    Array.from({ length: 4 }, () => uploadParts(`${stack.url}/v1/classifications`, 16, 19 * MB)),
  );
  clearInterval(sampler);
  peak = Math.max(peak, rssMb(pid));
  for (const a of answers) {
    expect({ status: a.status, code: a.body?.error?.code }).toEqual({ status: 413, code: 'payload_too_large' });
    // Refused once the cap was passed, not after the client had sent everything.
    expect(a.sent).toBeLessThan(64 * MB);
  }
  const growth = peak - before;
  console.log(
    JSON.stringify({
      rssBeforeMb: Math.round(before),
      rssPeakMb: Math.round(peak),
      growthMb: Math.round(growth),
      sentMb: answers.map((a) => Math.round(a.sent / MB)),
    }),
  );
  expect({ growthMb: Math.round(growth), under: growth < RSS_GROWTH_LIMIT_MB }).toEqual({
    growthMb: expect.any(Number),
    under: true,
  });
}, 120_000);

test('a Content-Length over MAX_UPLOAD_BYTES is refused before the body is read', async () => {
  const answer = await new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = http.request(`${stack.url}/v1/classifications`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=b', 'content-length': String(100 * MB) },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        req.destroy();
      });
    });
    req.on('error', reject);
    // Headers only: an API that waits for the body never answers.
    req.flushHeaders();
    setTimeout(() => reject(new Error('no answer within 5 s: the API is waiting for the body')), 5000).unref();
  });
  expect({ status: answer.status, code: answer.body.error?.code }).toEqual({ status: 413, code: 'payload_too_large' });
});

test('parts within the cap together are still read: two photos make one classification job', async () => {
  const photo = new Uint8Array(fs.readFileSync(path.join(requireShared('images'), 'goldfish.jpg')));
  const form = new FormData();
  form.set('model', 'demo-colors');
  form.append('image', new Blob([photo]), 'a.jpg');
  form.append('image', new Blob([photo]), 'b.jpg');
  const res = await fetch(`${stack.url}/v1/classifications`, { method: 'POST', body: form });
  const body = (await res.json()) as { params?: { images?: { filename: string }[] } };
  expect({ status: res.status, images: body.params?.images?.map((i) => i.filename) }).toEqual({
    status: 202,
    images: ['a.jpg', 'b.jpg'],
  });
});
