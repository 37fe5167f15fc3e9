import type { LoadInfo } from "../pipeline/load-info.js";

const fmt = (n: number) => n.toLocaleString("en-US");

/** The human summary printed after `ferry run`. */
export function formatLoadInfo(info: LoadInfo): string {
  const lines: string[] = [];
  const totalRows = Object.values(info.rows).reduce((a, b) => a + b, 0);
  lines.push(
    `Pipeline ${info.pipeline} loaded ${fmt(totalRows)} rows into ${info.destination} (dataset ${info.dataset})`,
  );
  if (info.pendingCompleted.length > 0) {
    lines.push(
      `  completed ${info.pendingCompleted.length} pending package(s) from an earlier run: ${info.pendingCompleted.join(", ")}`,
    );
  }
  if (info.loadIds.length > 0) lines.push(`  load ids: ${info.loadIds.join(", ")}`);
  const tables = Object.entries(info.rows).sort(([a], [b]) => a.localeCompare(b));
  if (tables.length > 0) {
    const width = Math.max(...tables.map(([t]) => t.length), 5);
    lines.push(`  ${"table".padEnd(width)}  rows`);
    for (const [t, n] of tables) lines.push(`  ${t.padEnd(width)}  ${fmt(n)}`);
  } else {
    lines.push("  no new data");
  }
  const newTables = info.schemaChanges.filter((c) => c.kind === "new_table").length;
  const newCols = info.schemaChanges.filter((c) => c.kind === "new_column").length;
  if (newTables + newCols > 0) {
    lines.push(`  schema v${info.schemaVersion}: ${newTables} new table(s), ${newCols} new column(s)`);
  }
  for (const w of info.warnings) lines.push(`  warning: ${w}`);
  const d = info.durationsMs;
  lines.push(
    `  took ${(d.total / 1000).toFixed(2)}s (extract ${(d.extract / 1000).toFixed(2)}s, normalize ${(d.normalize / 1000).toFixed(2)}s, load ${(d.load / 1000).toFixed(2)}s)`,
  );
  return lines.join("\n");
}
