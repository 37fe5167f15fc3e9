import type { Source } from "../../extract/source.js";
import type { WriteDisposition } from "../../schema/types.js";
import { ConfigError } from "../../util/errors.js";
import type { SqlDatabaseOptions, SqlIncremental } from "./options.js";
import { sqlDatabase } from "./sql-database.js";

const KEYS = [
  "type",
  "name",
  "url",
  "schema",
  "tables",
  "exclude_tables",
  "include_views",
  "chunk_size",
  "bulk_export",
  "write_disposition",
  "incremental",
];
const INCREMENTAL_KEYS = ["cursor", "initial_value", "end_value", "lag", "on_cursor_missing"];

function stringList(config: Record<string, unknown>, key: string): string[] | undefined {
  const v = config[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new ConfigError(`sql_database: ${key} must be a list of table names`);
  }
  return v as string[];
}

function unknownKeys(where: string, o: Record<string, unknown>, allowed: string[]): void {
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  if (extra.length > 0) {
    throw new ConfigError(`sql_database: unknown ${where} key(s) ${extra.map((k) => `"${k}"`).join(", ")}`, {
      hint: `allowed: ${allowed.filter((k) => k !== "type").join(", ")}`,
    });
  }
}

function incrementalFromSpec(raw: unknown): Record<string, SqlIncremental> | undefined {
  if (raw === undefined) return undefined;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError("sql_database: incremental must map table names to { cursor, initial_value }");
  }
  const out: Record<string, SqlIncremental> = {};
  for (const [table, v] of Object.entries(raw as Record<string, unknown>)) {
    const o = (v ?? {}) as Record<string, unknown>;
    if (typeof o !== "object") throw new ConfigError(`sql_database: incremental.${table} must be a mapping`);
    unknownKeys(`incremental.${table}`, o, INCREMENTAL_KEYS);
    out[table] = {
      cursor: o.cursor as string,
      ...(o.initial_value !== undefined ? { initialValue: o.initial_value } : {}),
      ...(o.end_value !== undefined ? { endValue: o.end_value } : {}),
      ...(o.lag !== undefined ? { lag: o.lag as number } : {}),
      ...(o.on_cursor_missing !== undefined
        ? { onCursorMissing: o.on_cursor_missing as SqlIncremental["onCursorMissing"] }
        : {}),
    };
  }
  return out;
}

/**
 * The `type: sql_database` spec source: snake_case keys of `sqlDatabase`'s options.
 *
 * ```yaml
 * source:
 *   type: sql_database
 *   url: "postgres://ferry:${env:PG_PASSWORD}@127.0.0.1:5432/shop"
 *   schema: public
 *   tables: [orders, "Order Items"]
 *   exclude_tables: []
 *   chunk_size: 10000
 *   bulk_export: true
 *   incremental:
 *     orders: { cursor: updated_at, initial_value: "2024-01-01T00:00:00Z" }
 * ```
 *
 * @example
 * const src = await sqlDatabaseFromSpec({ type: "sql_database", url, tables: ["orders"] }, { pipelineName: "shop" });
 */
export function sqlDatabaseFromSpec(
  config: Record<string, unknown>,
  ctx: { pipelineName: string },
): Promise<Source> {
  unknownKeys("source", config, KEYS);
  if (typeof config.url !== "string") {
    throw new ConfigError("sql_database: url is required", {
      hint: "url: postgres://user:password@host:5432/database (or mysql://...); take the password from an environment variable",
    });
  }
  const chunk = config.chunk_size;
  if (config.bulk_export !== undefined && typeof config.bulk_export !== "boolean") {
    throw new ConfigError(
      `sql_database: bulk_export must be true or false, got ${JSON.stringify(config.bulk_export)}`,
      {
        hint: "bulk_export: false reads every table row by row",
      },
    );
  }
  const tables = stringList(config, "tables");
  const exclude = stringList(config, "exclude_tables");
  const incremental = incrementalFromSpec(config.incremental);
  const options: SqlDatabaseOptions = {
    url: config.url,
    name: typeof config.name === "string" ? config.name : ctx.pipelineName,
    ...(typeof config.schema === "string" ? { schema: config.schema } : {}),
    ...(tables ? { tables } : {}),
    ...(exclude ? { excludeTables: exclude } : {}),
    ...(config.include_views !== undefined ? { includeViews: config.include_views === true } : {}),
    ...(chunk !== undefined ? { chunkSize: chunk as number } : {}),
    ...(config.bulk_export !== undefined ? { bulkExport: config.bulk_export !== false } : {}),
    ...(config.write_disposition !== undefined
      ? { writeDisposition: config.write_disposition as WriteDisposition }
      : {}),
    ...(incremental ? { incremental } : {}),
  };
  return sqlDatabase(options);
}
