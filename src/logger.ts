import pino, { type Logger } from 'pino';

export type { Logger };

/** The process logger; every line carries the role so API and worker logs can be told apart. */
export function createLogger(level: string, role: string): Logger {
  return pino({ level, base: { role, pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
