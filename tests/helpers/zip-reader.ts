import zlib from 'node:zlib';

/** A zip entry as stored: name and (inflated) bytes. */
export interface ZipFile {
  name: string;
  data: Buffer;
  method: number;
}

/** Reads a zip through its central directory (what unzip does), so a broken archive fails loudly. */
export function readZip(buf: Buffer): ZipFile[] {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip: no end of central directory');
  const count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  const files: ZipFile[] = [];
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(offset) !== 0x02014b50) throw new Error('corrupt central directory');
    const method = buf.readUInt16LE(offset + 10);
    const compressed = buf.readUInt32LE(offset + 20);
    const nameLen = buf.readUInt16LE(offset + 28);
    const extraLen = buf.readUInt16LE(offset + 30);
    const commentLen = buf.readUInt16LE(offset + 32);
    const local = buf.readUInt32LE(offset + 42);
    const name = buf.toString('utf8', offset + 46, offset + 46 + nameLen);
    const localName = buf.readUInt16LE(local + 26);
    const localExtra = buf.readUInt16LE(local + 28);
    const start = local + 30 + localName + localExtra;
    const raw = buf.subarray(start, start + compressed);
    files.push({ name, method, data: method === 0 ? Buffer.from(raw) : zlib.inflateRawSync(raw) });
    offset += 46 + nameLen + extraLen + commentLen;
  }
  return files;
}
