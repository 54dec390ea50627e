import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './cli-errors';

const MIME_OF_EXTENSION: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
};

/** An image file's bytes and its media type (by extension; the server checks the bytes); a usage error when unreadable. */
export async function readImageFile(file: string): Promise<{ bytes: Buffer; type: string }> {
  try {
    const bytes = await fs.promises.readFile(file);
    return { bytes, type: MIME_OF_EXTENSION[path.extname(file).toLowerCase()] ?? 'application/octet-stream' };
  } catch (err) {
    throw new UsageError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
}
