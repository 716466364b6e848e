/** A plain text table: the first row is the header; columns after the first are right-aligned unless `left` names them. */
export function renderTable(rows: string[][], left: ReadonlySet<number> = new Set([0])): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => (left.has(c) ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** 1234 ms → "1.2 s"; under a second stays in ms. */
export function ms(value: unknown): string {
  if (typeof value !== "number") return "";
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(1)} s`;
}

/** How long ago, compactly: "12s", "5m", "3h", "2d". */
export function since(time: unknown, now = Date.now()): string {
  if (typeof time !== "number") return "";
  const s = Math.max(0, Math.round((now - time) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}
