import net from 'node:net';
import { requestJson } from '../helpers/api-client';
import { startStack, type Stack } from '../helpers/stack';

/**
 * Slow and many connections (issue 9, item 11): requests that arrive too slowly are cut off with a
 * 408 JSON error, idle keep-alive connections close, and connections beyond MAX_CONNECTIONS are
 * refused. Raw sockets, because fetch can do none of these.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw TCP connection: for what fetch cannot do, such as sending slowly or holding a socket. */
function connect(url: string): Promise<net.Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** What the server sends until it closes the connection, and how long after `since` it closed (undefined: still open after `timeoutMs`). */
function readUntilClosed(
  socket: net.Socket,
  since: number,
  timeoutMs: number,
): Promise<{ text: string; closedAfterMs?: number }> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d) => (text += d));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text });
    }, timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - since });
    });
  });
}

const errorCodeOf = (response: string) =>
  (JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as { error: { code: string } }).error.code;

describe('timeouts and MAX_CONNECTIONS', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      noWorkers: true,
      env: {
        REQUEST_TIMEOUT_MS: '2000',
        HEADERS_TIMEOUT_MS: '1000',
        KEEP_ALIVE_TIMEOUT_MS: '500',
        MAX_CONNECTIONS: '8',
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test('a body sent a byte at a time is cut off after REQUEST_TIMEOUT_MS with a 408 JSON error', async () => {
    const socket = await connect(stack.url);
    const started = Date.now();
    socket.write(
      'POST /v1/generations HTTP/1.1\r\nHost: darkroom\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    );
    const drip = setInterval(() => socket.writable && socket.write(' '), 300);
    const { text, closedAfterMs } = await readUntilClosed(socket, started, 10_000);
    clearInterval(drip);
    expect({ closed: closedAfterMs !== undefined, inTime: (closedAfterMs ?? Infinity) < 4000 }).toEqual({
      closed: true,
      inTime: true,
    });
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toMatch(/content-type: application\/json/i);
    expect(errorCodeOf(text)).toBe('request_timeout');
  });

  test('headers sent a line at a time are cut off after HEADERS_TIMEOUT_MS with a 408', async () => {
    const socket = await connect(stack.url);
    const started = Date.now();
    socket.write('GET /healthz HTTP/1.1\r\nHost: darkroom\r\n');
    const drip = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 200);
    const { text, closedAfterMs } = await readUntilClosed(socket, started, 10_000);
    clearInterval(drip);
    expect({ closed: closedAfterMs !== undefined, inTime: (closedAfterMs ?? Infinity) < 3000 }).toEqual({
      closed: true,
      inTime: true,
    });
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(errorCodeOf(text)).toBe('request_timeout');
  });

  test('an idle keep-alive connection closes after KEEP_ALIVE_TIMEOUT_MS', async () => {
    const socket = await connect(stack.url);
    socket.write('GET /healthz HTTP/1.1\r\nHost: darkroom\r\n\r\n');
    let answeredAt = 0;
    socket.once('data', () => (answeredAt = Date.now()));
    const { text, closedAfterMs } = await readUntilClosed(socket, Date.now(), 10_000);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    const idleMs = closedAfterMs === undefined ? Infinity : Date.now() - answeredAt;
    expect({ closed: closedAfterMs !== undefined, idleUnder2s: idleMs < 2000 }).toEqual({
      closed: true,
      idleUnder2s: true,
    });
  });

  test('connections beyond MAX_CONNECTIONS are refused; once others close, new ones are served', async () => {
    const sockets = await Promise.all(Array.from({ length: 12 }, () => connect(stack.url).catch(() => undefined)));
    const outcomes = await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<'answered' | 'refused'>((resolve) => {
            if (!socket) return resolve('refused');
            let text = '';
            socket.on('error', () => undefined);
            socket.on('data', (d) => {
              text += d;
              if (text.startsWith('HTTP/1.1 200')) resolve('answered');
            });
            socket.once('close', () => resolve(text.startsWith('HTTP/1.1 200') ? 'answered' : 'refused'));
            socket.write('GET /healthz HTTP/1.1\r\nHost: darkroom\r\n\r\n');
          }),
      ),
    );
    const answered = outcomes.filter((o) => o === 'answered').length;
    expect({ answered, atMost8: answered <= 8, someRefused: answered < 12 }).toEqual({
      answered,
      atMost8: true,
      someRefused: true,
    });
    for (const s of sockets) s?.destroy();
    await sleep(200);
    expect((await requestJson(`${stack.url}/healthz`)).status).toBe(200);
  });
});
