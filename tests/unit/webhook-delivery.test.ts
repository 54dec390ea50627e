import { UnrecoverableError } from 'bullmq';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import type { HostLookup } from '../../src/webhooks/webhook-address';
import type { WebhookDelivery } from '../../src/webhooks/webhook-queue';
import { ownerWebhookSecret, verifySignatureHeader } from '../../src/webhooks/webhook-signature';
import { deliverOnce, type DeliveryDeps } from '../../workers/webhooks/webhook-delivery';

/** One delivery attempt against a real HTTP receiver on loopback: what ends it, what retries it. */

const SECRET = 'whsec-test-0123456789abcdef';
interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
const received: Received[] = [];
let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => res.writeHead(204).end();
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    received.push({ path: req.url ?? '', headers: req.headers, body });
    answer(req, res);
  });
});
let port = 0;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  received.length = 0;
  answer = (_req, res) => res.writeHead(204).end();
});

/** `receiver.test` resolves (only here) to the loopback receiver; `evil.test` to a private address. */
const lookup: HostLookup = async (host) => {
  if (host === 'receiver.test') return [{ address: '127.0.0.1', family: 4 }];
  if (host === 'evil.test') return [{ address: '10.0.0.7', family: 4 }];
  throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
};
const deps = (allow = ['127.0.0.1'], timeoutMs = 2000): DeliveryDeps => ({
  config: {
    redis: { prefix: 'test' },
    jobs: { retentionSeconds: 60 },
    webhooks: { allowedHosts: allow, timeoutMs },
  },
  secret: SECRET,
  redis: {} as Redis, // deliverOnce does not touch Redis
  lookup,
});
const delivery = (url: string): WebhookDelivery => ({
  delivery_id: 'whd_1',
  job_id: 'gen_1',
  owner: 'alice',
  event: 'succeeded',
  url,
  body: '{"id":"gen_1","status":"succeeded"}',
  seq: 1,
});
const outcome = (p: Promise<unknown>) =>
  p.then(
    (v) => ({ ok: v }),
    (err: Error) => ({ error: err.message, final: err instanceof UnrecoverableError }),
  );

test('a 2xx answer ends the delivery; the request carries the signed body and the headers', async () => {
  const d = delivery(`http://127.0.0.1:${port}/hook?x=1`);
  expect(await outcome(deliverOnce(deps(), d))).toEqual({ ok: { status: 204 } });
  expect(received).toHaveLength(1);
  const [r] = received;
  expect(r).toMatchObject({ path: '/hook?x=1', body: d.body });
  expect(r.headers).toMatchObject({
    'content-type': 'application/json',
    'darkroom-event': 'succeeded',
    'darkroom-delivery': 'whd_1',
  });
  // Signed with the owner's own secret: not with another key's, nor with the server secret itself.
  const signature = r.headers['darkroom-signature'] as string;
  expect(verifySignatureHeader(ownerWebhookSecret(SECRET, 'alice'), signature, r.body)).toBe(true);
  expect(verifySignatureHeader(ownerWebhookSecret(SECRET, 'bob'), signature, r.body)).toBe(false);
  expect(verifySignatureHeader(SECRET, signature, r.body)).toBe(false);
});

test('a host name connects to the address it was checked against (no second DNS answer)', async () => {
  expect(await outcome(deliverOnce(deps(['receiver.test']), delivery(`http://receiver.test:${port}/named`)))).toEqual({
    ok: { status: 204 },
  });
  expect(received.map((r) => [r.path, r.headers.host])).toEqual([['/named', `receiver.test:${port}`]]);
});

test('other statuses and timeouts are retried; 410 Gone is not; redirects are not followed', async () => {
  answer = (_req, res) => res.writeHead(503).end('busy');
  expect(await outcome(deliverOnce(deps(), delivery(`http://127.0.0.1:${port}/`)))).toEqual({
    error: 'the receiver answered 503',
    final: false,
  });
  answer = (_req, res) => res.writeHead(410).end();
  expect(await outcome(deliverOnce(deps(), delivery(`http://127.0.0.1:${port}/`)))).toEqual({
    error: 'the receiver answered 410 Gone: not retried',
    final: true,
  });
  answer = (_req, res) => res.writeHead(307, { location: `http://127.0.0.1:${port}/elsewhere` }).end();
  expect(await outcome(deliverOnce(deps(), delivery(`http://127.0.0.1:${port}/`)))).toEqual({
    error: 'the receiver answered 307',
    final: false,
  });
  expect(received.map((r) => r.path)).toEqual(['/', '/', '/']);
  answer = () => undefined; // never answers
  expect(await outcome(deliverOnce(deps(['127.0.0.1'], 200), delivery(`http://127.0.0.1:${port}/slow`)))).toEqual({
    error: 'no answer within 200 ms',
    final: false,
  });
});

test('at delivery time the URL is checked again: a private address ends the delivery unsent', async () => {
  expect(await outcome(deliverOnce(deps([]), delivery(`http://127.0.0.1:${port}/`)))).toEqual({
    error: 'webhook URL not allowed: 127.0.0.1 is not a public address (loopback)',
    final: true,
  });
  expect(await outcome(deliverOnce(deps(), delivery('http://evil.test/')))).toMatchObject({
    error: expect.stringContaining('resolves to 10.0.0.7'),
    final: true,
  });
  // A name that does not resolve now may later: retried.
  expect(await outcome(deliverOnce(deps(), delivery('http://gone.test/')))).toMatchObject({ final: false });
  expect(received).toHaveLength(0);
});
