import type { Server } from 'node:http';

/** Stops an HTTP server gracefully. */
export interface ServerDrain {
  /**
   * Stops listening (new connections are refused), lets requests in flight finish, closes each
   * keep-alive connection once it is idle, and cuts whatever is still open after `graceMs`.
   */
  drain(graceMs: number): Promise<void>;
}

/** Call before the server takes requests: responses sent while draining say `Connection: close`. */
export function createServerDrain(server: Server): ServerDrain {
  let draining = false;
  // Prepended so the header is set before the app can answer; Node closes the socket after such a response.
  server.prependListener('request', (_req, res) => {
    if (draining) res.setHeader('Connection', 'close');
    // A response that started before the drain kept its keep-alive header: close its socket once idle.
    res.once('close', () => draining && setImmediate(() => server.closeIdleConnections()));
  });
  return {
    drain(graceMs) {
      draining = true;
      return new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), graceMs);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
