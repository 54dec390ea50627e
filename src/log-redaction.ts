/**
 * What must never reach a log line: credentials in HTTP headers (pino-http logs every request's
 * headers) and passwords inside URLs (a REDIS_URL is `redis://:password@host:port`).
 */

/** Request and response headers that carry credentials, lower case as Node gives them. */
export const SECRET_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'x-amz-security-token',
];

/** pino `redact` paths: the headers above wherever pino-http (or anyone logging a request) puts them. */
export const REDACTED_LOG_PATHS = SECRET_HEADERS.flatMap((h) => [
  `req.headers["${h}"]`,
  `res.headers["${h}"]`,
  `headers["${h}"]`,
]);

export const REDACTED = '[redacted]';

/** `redis://user:secret@host:6379/0` -> `redis://user:***@host:6379/0`; text that is no URL keeps its shape with the same masking. */
export function maskUrlCredentials(text: string): string {
  try {
    const url = new URL(text);
    if (!url.password) return text;
    url.password = '***';
    return url.toString();
  } catch {
    // Not a URL (a bad value in a config error, say): mask anything that looks like `//user:password@`.
    return text.replace(/(\/\/[^/:@\s]*:)[^@\s]*@/g, '$1***@');
  }
}
