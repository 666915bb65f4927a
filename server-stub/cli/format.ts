// How `enf-server` shows registry records to operators: aligned text tables. Its --json prints the
// management API's documented views (../http/views.ts), so a record has one JSON form.
/** A plain text table: header row, then one row per record; columns padded to their widest cell. */
export function table(headers: string[], rows: (string | number | null)[][]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** First 16 hex digits of a long value, for tables (the JSON has the whole value). */
export const short = (hex: string): string => (hex.length > 16 ? `${hex.slice(0, 16)}…` : hex);
