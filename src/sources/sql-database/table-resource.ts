import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { IncrementalOptions } from "../../extract/incremental.js";
import { type Resource, type ResourceContext, resource } from "../../extract/resource.js";
import { TypedCsvFile } from "../../extract/typed-csv.js";
import type { CsvColumn } from "../../formats/typed-csv.js";
import type { ColumnHint, DataType, WriteDisposition } from "../../schema/types.js";
import { ConfigError, ExtractError } from "../../util/errors.js";
import { shortHash } from "../../util/hash.js";
import { connectEngine } from "./connect-engine.js";
import type { SqlUrl } from "./connection-url.js";
import { describeLocation, recordKey, type SqlColumn, type SqlTableInfo } from "./engine.js";
import type { SqlIncremental } from "./options.js";

export interface TableResourceOptions {
  url: SqlUrl;
  /** The table as reflected when the source was created (hints, primary key, cursor check). */
  table: SqlTableInfo;
  chunkSize: number;
  /** Full reads may go to the destination as typed CSV (see `SqlCommonOptions.bulkExport`). */
  bulkExport: boolean;
  incremental?: SqlIncremental;
  writeDisposition?: WriteDisposition;
  /** Overrides the reflected primary key. */
  primaryKey?: string[];
}

/** Cursor columns ferry compares exactly in SQL and in its own state: integers, timestamps, dates. */
const CURSOR_TYPES: DataType[] = ["bigint", "timestamp", "date"];

/**
 * Column hints from reflection: exact types (decimal precision and scale included) and nullability, so even an
 * empty table is created with the right types.
 *
 * @example
 * columnHints(table) // { id: { type: "bigint", nullable: false }, price: { type: "decimal", precision: 12, scale: 2, ... } }
 */
export function columnHints(table: SqlTableInfo): Record<string, ColumnHint> {
  const hints: Record<string, ColumnHint> = {};
  for (const c of table.columns) {
    hints[recordKey(c.name)] = {
      type: c.type,
      nullable: c.nullable,
      ...(c.precision !== undefined ? { precision: c.precision } : {}),
      ...(c.scale !== undefined ? { scale: c.scale } : {}),
    };
  }
  return hints;
}

/** The typed CSV columns of a table's export: record keys as in pages, reflected types. */
function csvColumns(table: SqlTableInfo): CsvColumn[] {
  return table.columns.map((c) => ({
    name: recordKey(c.name),
    type: c.type,
    ...(c.precision !== undefined ? { precision: c.precision } : {}),
    ...(c.scale !== undefined ? { scale: c.scale } : {}),
  }));
}

function cursorColumn(table: SqlTableInfo, inc: SqlIncremental, where: string): SqlColumn {
  const col = table.columns.find((c) => c.name === inc.cursor);
  if (!col) {
    throw new ConfigError(`cursor column "${inc.cursor}" not found in table "${table.name}" (${where})`, {
      fields: { table: table.name, column: inc.cursor },
      hint: `use one of its columns (case-sensitive): ${table.columns.map((c) => c.name).join(", ")}`,
    });
  }
  if (!CURSOR_TYPES.includes(col.type)) {
    throw new ConfigError(
      `cursor column "${col.name}" of table "${table.name}" has type ${col.nativeType}, which cannot be an incremental cursor`,
      {
        fields: { table: table.name, column: col.name },
        hint: "use an integer, timestamp or date column (an id, updated_at ...)",
      },
    );
  }
  return col;
}

function defaultDisposition(o: TableResourceOptions, primaryKey: string[]): WriteDisposition {
  if (o.writeDisposition !== undefined) return o.writeDisposition;
  if (!o.incremental) return "replace";
  return primaryKey.length > 0 ? "merge" : "append";
}

/**
 * The resource that loads one table: reflected types as column hints, the primary key for merge, and a
 * generator that opens its own connection, streams pages (from the incremental start value, ordered by the
 * cursor) and closes the connection however the run ends.
 *
 * @example
 * const r = tableResource({ url: parseSqlUrl(url), table: reflected, chunkSize: 10_000 });
 */
export function tableResource(o: TableResourceOptions): Resource {
  const t = o.table;
  const where = describeLocation(o.url.where);
  const primaryKey = o.primaryKey ?? t.primaryKey;
  for (const k of primaryKey) {
    if (!t.columns.some((c) => c.name === k)) {
      throw new ConfigError(`primary key column "${k}" not found in table "${t.name}" (${where})`, {
        fields: { table: t.name, column: k },
        hint: `use one of its columns: ${t.columns.map((c) => c.name).join(", ")}`,
      });
    }
  }
  const inc = o.incremental;
  const cursor = inc ? cursorColumn(t, inc, where) : undefined;
  const incremental: IncrementalOptions | undefined =
    inc && cursor
      ? {
          cursor: recordKey(cursor.name),
          lastValueFunc: "max",
          ...(inc.initialValue !== undefined ? { initialValue: inc.initialValue } : {}),
          ...(inc.endValue !== undefined ? { endValue: inc.endValue } : {}),
          ...(inc.lag !== undefined ? { lag: inc.lag } : {}),
          ...(inc.onCursorMissing !== undefined ? { onCursorMissing: inc.onCursorMissing } : {}),
        }
      : undefined;
  // Plain JSON records (no Buffer, no NaN) take the extractor's fast path; a bigint beyond 2^53 falls back by itself.
  const jsonItems = !t.columns.some((c) => c.type === "binary" || c.type === "double");
  const chunkSize = o.chunkSize;
  const url = o.url;

  async function* read(ctx: ResourceContext): AsyncGenerator<Record<string, unknown>[] | TypedCsvFile> {
    const engine = await connectEngine(url);
    try {
      // Read with the table as it is now (a column may have been added since the source was created).
      const [now] = await engine.reflect({ schema: t.schema, includeViews: true, tables: [t.name] });
      if (!now) {
        throw new ExtractError(`table "${t.name}" no longer exists in schema "${t.schema}" (${where})`, {
          fields: { table: t.name },
          hint: "check whether it was dropped or renamed; exclude it from the source if it is gone",
        });
      }
      if (jsonItems && now.columns.some((c) => c.type === "binary" || c.type === "double")) {
        throw new ExtractError(
          `table "${t.name}" got a binary or floating-point column since the source was created`,
          {
            fields: { table: t.name },
            hint: "create the source again (sqlDatabase / sqlTable) so it reflects the table as it is now",
          },
        );
      }
      for (const c of now.columns) {
        if (!c.known) {
          ctx.log.warn(
            `column "${c.name}" of table "${t.name}" has type ${c.nativeType}, which ferry does not know: it is loaded as text`,
          );
        }
      }
      const cursorNow = cursor ? now.columns.find((c) => c.name === cursor.name) : undefined;
      if (cursor && !cursorNow) {
        throw new ExtractError(
          `cursor column "${cursor.name}" no longer exists in table "${t.name}" (${where})`,
          {
            fields: { table: t.name, column: cursor.name },
          },
        );
      }
      if (o.bulkExport && ctx.typedCsv && !cursorNow && engine.exportTypedCsv) {
        // A full read the destination takes as typed CSV: the table goes to files in bulk, no records made.
        const dir = ctx.typedCsv.dir;
        const stem = shortHash(`${t.schema}.${t.name}`, 12);
        const parts = await engine.exportTypedCsv(now, (part) => join(dir, `${stem}.${part}.csv`));
        if (parts !== undefined) {
          for (const part of parts) {
            if (part.rows > 0) yield new TypedCsvFile(part.path, csvColumns(now), part.rows);
            else await rm(part.path, { force: true });
          }
          return;
        }
        ctx.log.info(
          `table "${t.name}" holds dates or timestamps outside years 1-9999: reading it record by record`,
        );
      }
      yield* engine.readPages(now, {
        chunkSize,
        ...(cursorNow
          ? {
              cursor: {
                column: cursorNow,
                ...(ctx.incremental.startValue !== undefined ? { start: ctx.incremental.startValue } : {}),
                ...(ctx.incremental.endValue !== undefined ? { end: ctx.incremental.endValue } : {}),
                includeNulls: inc?.onCursorMissing !== "exclude",
              },
            }
          : {}),
      });
    } finally {
      await engine.close();
    }
  }

  return resource(
    {
      name: t.name,
      columns: columnHints(t),
      writeDisposition: defaultDisposition(o, primaryKey),
      ...(primaryKey.length > 0 ? { primaryKey: primaryKey.map(recordKey) } : {}),
      ...(incremental ? { incremental } : {}),
      jsonItems,
    },
    read,
  );
}
