import pino, { type Logger } from 'pino';
import { REDACTED, REDACTED_LOG_PATHS } from './log-redaction';

export type { Logger };

/** The process logger; every line carries the role so API and worker logs can be told apart. */
export function createLogger(level: string, role: string): Logger {
  return pino({
    level,
    base: { role, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Every logger of the process (pino-http's request loggers are its children) censors credentials.
    redact: { paths: REDACTED_LOG_PATHS, censor: REDACTED },
  });
}
