import type { AddressInfo, Server } from 'node:net';

/** Where a server listens, and the names a person needs to fix it when it cannot. */
export interface ListenTarget {
  port: number;
  host: string;
  /** What listens, e.g. `the API`. */
  what: string;
  /** The setting that chooses the port, e.g. `PORT`. */
  variable: string;
}

/** A server could not listen: a setup problem to report in one line, not a crash with a stack. */
export class ListenError extends Error {
  constructor(target: ListenTarget, cause: NodeJS.ErrnoException) {
    const { what, host, port, variable } = target;
    const reasons: Record<string, string> = {
      EADDRINUSE: `the port is already in use; stop what runs there or set ${variable} to another port`,
      EACCES: `permission denied; ports below 1024 need privileges, set ${variable} to another port`,
      EADDRNOTAVAIL: 'this machine has no such address',
    };
    const reason = reasons[cause.code ?? ''] ?? cause.message;
    super(
      `${what} cannot listen on ${host.includes(':') ? `[${host}]` : host}:${port}: ${reason}${cause.code ? ` (${cause.code})` : ''}`,
    );
    this.name = 'ListenError';
  }
}

/**
 * Listens and resolves with the bound address, or rejects with a ListenError. Not Express 5's
 * `app.listen(port, host, cb)`: it calls `cb` on 'error' too, so a busy port looked like success.
 */
export function listen(server: Server, target: ListenTarget): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(new ListenError(target, err));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(target.port, target.host);
  });
}
