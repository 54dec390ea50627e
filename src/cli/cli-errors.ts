/** Errors the CLI reports, and how each maps to a message on stderr and an exit code. */

/** 1: the server, the network or a job failed. 2: the command line itself is wrong. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface FieldDetail {
  field: string;
  message: string;
}

/** An error answer of the darkroom API: `{ error: { code, message, details } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: FieldDetail[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Nothing answered at the server's address. */
export class ConnectionError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(
      `cannot reach darkroom at ${url} (${reason}); is the server running? Point the CLI elsewhere with --url or DARKROOM_URL`,
    );
    this.name = 'ConnectionError';
  }
}

/** The arguments are wrong before anything was sent. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly details: FieldDetail[] = [],
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A job the CLI waited for ended failed or canceled. */
export class JobEndedError extends Error {
  constructor(
    readonly jobId: string,
    readonly status: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'JobEndedError';
  }
}

const detailLines = (details: FieldDetail[]) => details.map((d) => `  ${d.field}: ${d.message}\n`).join('');

/** Writes the message for `err` and returns the exit code it deserves. */
export function reportError(err: unknown, write: (text: string) => void): number {
  if (err instanceof ApiError) {
    write(`error ${err.code}: ${err.message}\n${detailLines(err.details)}`);
    return EXIT_FAILURE;
  }
  if (err instanceof JobEndedError) {
    write(`error ${err.code}: job ${err.jobId} ${err.status}: ${err.message}\n`);
    return EXIT_FAILURE;
  }
  if (err instanceof UsageError) {
    write(`error: ${err.message}\n${detailLines(err.details)}`);
    return EXIT_USAGE;
  }
  write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT_FAILURE;
}
