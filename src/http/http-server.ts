import type { Express } from 'express';
import http, { type Server } from 'node:http';
import type { Socket } from 'node:net';

type UpgradeListener = (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => void;
import type { HttpSettings } from '../config';
import { errorBody } from '../errors';

/**
 * The API's HTTP server, with the limits that keep slow or numerous clients from holding it open:
 * a whole request must arrive within REQUEST_TIMEOUT_MS and its headers within HEADERS_TIMEOUT_MS,
 * an idle keep-alive connection closes after KEEP_ALIVE_TIMEOUT_MS, and connections beyond
 * MAX_CONNECTIONS are closed as they come. Only receiving a request is timed: event streams,
 * waits and downloads are responses, and last as long as they need.
 */
export function createHttpServer(app: Express, settings: HttpSettings): Server {
  const server = http.createServer(
    {
      requestTimeout: settings.requestTimeoutMs,
      // Node refuses a header timeout longer than the request timeout.
      headersTimeout: Math.min(settings.headersTimeoutMs, settings.requestTimeoutMs),
      keepAliveTimeout: settings.keepAliveTimeoutMs,
      // How often Node looks for overdue requests; its default (30 s) would stretch every timeout by up to that.
      connectionsCheckingInterval: 500,
    },
    app,
  );
  server.maxConnections = settings.maxConnections;
  server.on('clientError', answerClientError);
  // Websockets (ComfyUI's /ws): the app says who answers them; without one, an upgrade is refused.
  const onUpgrade = app.locals.onUpgrade as ((...args: Parameters<UpgradeListener>) => void) | undefined;
  server.on('upgrade', onUpgrade ?? ((_req, socket) => socket.destroy()));
  return server;
}

/** Status line, code and message for the errors Node reports before a request reaches Express. */
function describe(code: string | undefined): [number, string, string, string] {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [
        408,
        'Request Timeout',
        'request_timeout',
        'the request did not arrive in time; the connection is closed',
      ];
    case 'HPE_HEADER_OVERFLOW':
      return [
        431,
        'Request Header Fields Too Large',
        'headers_too_large',
        'the request headers are larger than this server accepts',
      ];
    default:
      return [400, 'Bad Request', 'bad_request', 'the request is not valid HTTP'];
  }
}

/**
 * Node's own answer to these is a bare status line; this is the same answer with the JSON error
 * body every other response has. Written only where no response has begun on the connection, as
 * Node does, so a half-sent response is never corrupted.
 */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] = describe(err.code);
  const body = JSON.stringify(errorBody(code, message));
  const head = [
    `HTTP/1.1 ${status} ${reason}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
  // A client that does not read its answer does not keep the socket either.
  setTimeout(() => socket.destroy(), 1000).unref();
}
