/** Plain-text tables and key/value blocks for human-readable output. */

/** Columns padded to their widest cell; the last column is left ragged. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** `key  value` lines with the keys aligned (continuation lines too); undefined values are left out. */
export function formatFields(fields: [string, string | undefined][]): string {
  const present = fields.filter((f): f is [string, string] => f[1] !== undefined);
  const width = Math.max(...present.map(([k]) => k.length));
  const indent = '\n' + ' '.repeat(width + 2);
  return present.map(([k, v]) => `${k.padEnd(width)}  ${v.split('\n').join(indent)}`).join('\n') + '\n';
}
