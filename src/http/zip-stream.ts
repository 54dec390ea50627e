import archiver from 'archiver';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type { Response } from 'express';

/** One file in an archive; `open` is called only when the entry is about to be written. */
export interface ZipEntry {
  name: string;
  open: () => Promise<Readable | Buffer>;
}

/**
 * Streams a zip to the response in store mode (the images are already compressed). Entries are
 * opened one at a time, so memory and open files stay flat however many images there are.
 */
export async function sendZip(
  res: Response,
  filename: string,
  entries: Iterable<ZipEntry> | AsyncIterable<ZipEntry>,
): Promise<void> {
  const archive = archiver('zip', { store: true });
  res
    .status(200)
    .set({ 'Content-Type': 'application/zip', 'Content-Disposition': `attachment; filename="${filename}"` });
  archive.pipe(res);
  let aborted = false;
  res.on('close', () => {
    if (!res.writableFinished) {
      aborted = true;
      archive.abort();
    }
  });
  for await (const entry of entries) {
    if (aborted) return;
    const source = await entry.open();
    const written = once(archive, 'entry');
    archive.append(source, { name: entry.name });
    await written;
  }
  await archive.finalize();
}
