import { InvalidArgumentError } from 'commander';
import type { z } from 'zod';
import { UsageError } from './cli-errors';

/** A commander argument parser for whole numbers (ranges are the request schemas' business). */
export function parseInteger(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('not a whole number');
  return Number(value);
}

/** A commander argument parser for decimal numbers. */
export function parseDecimal(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('not a number');
  return n;
}

/** The server URL, checked before anything is sent. */
export function parseServerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(value)} is not a URL (expected e.g. http://localhost:3000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--url must be http or https, got ${url.protocol}`);
  return value;
}

/**
 * Validates a request body with the server's own zod schema, naming the CLI flag of each bad
 * field, so mistakes are caught before a job is submitted.
 */
export function validateRequest<T extends z.ZodType>(
  schema: T,
  body: unknown,
  flagOf: Record<string, string>,
): z.output<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((i) => {
    const field = i.path.join('.');
    return { field: flagOf[field] ?? field, message: i.message };
  });
  throw new UsageError('invalid options', details);
}
