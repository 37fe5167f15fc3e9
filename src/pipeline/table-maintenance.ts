import type { MaintenanceResult, TableMaintenance } from "../destinations/destination.js";
import { ConfigError } from "../util/errors.js";
import type { PipelineContext } from "./context.js";

/**
 * Runs table maintenance (optimize, vacuum) on the pipeline's tables that have it: the destination's Delta tables
 * that belong to the pipeline's schemas. `fn` gets them as the default table list. A destination without table
 * maintenance (SQL databases, plain files only) is told apart with what to do.
 *
 * @example
 * const results = await maintainTables(ctx, (m, tables) => m.vacuum({ tables, retentionHours: 168 }));
 */
export async function maintainTables(
  ctx: PipelineContext,
  fn: (maintenance: TableMaintenance, tables: string[]) => Promise<MaintenanceResult[]>,
): Promise<MaintenanceResult[]> {
  await ctx.refresh();
  const client = await ctx.connect();
  try {
    const m = client.maintenance;
    if (!m) {
      const d = await ctx.destination();
      throw new ConfigError(`destination ${d.description} has no table maintenance`, {
        hint: 'optimize and vacuum apply to Delta tables (a filesystem destination with table_format=delta, or resources with tableFormat: "delta")',
      });
    }
    const mine = new Set<string>();
    for (const name of ctx.committedState()?.schemaNames ?? []) {
      const schema = (await ctx.local.readSchema(name)) ?? (await client.getStoredSchema(name));
      for (const t of Object.keys(schema?.tables ?? {})) mine.add(t);
    }
    const tables = (await m.tables()).filter((t) => mine.has(t));
    const results = await fn(m, tables);
    for (const r of results) {
      ctx.log.info(
        `${r.table}: ${r.dryRun ? "would remove" : "removed"} ${r.filesRemoved} file(s) (${r.bytesRemoved} bytes)` +
          (r.filesAdded > 0 ? `, added ${r.filesAdded} (${r.bytesAdded} bytes)` : "") +
          `; version ${r.version}`,
      );
    }
    return results;
  } finally {
    await client.close();
  }
}
