import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Pipeline, type PipelineOptions, pipeline, silentLogger } from "../../src/index.js";

export interface TempPipeline {
  /** The pipeline: destination `duckdb:<dir>/<name>.duckdb`, working dirs under `<dir>/.ferry`, silent logger. */
  p: Pipeline;
  /** The temp dir holding everything of this pipeline (mkdtemp). */
  dir: string;
  /** The DuckDB file. */
  dbPath: string;
  /** A new Pipeline object with the same options (as another process would create it). */
  reopen: (extra?: Partial<PipelineOptions>) => Pipeline;
  /** Removes the temp dir. */
  cleanup: () => void;
}

/**
 * A pipeline in its own temp dir.
 *
 * @example
 * const { p, cleanup } = tempPipeline("basics");
 * try { await p.run([{ id: 1 }], { table: "t" }) } finally { cleanup() }
 */
export function tempPipeline(name: string, extra: Partial<PipelineOptions> = {}): TempPipeline {
  const dir = mkdtempSync(join(tmpdir(), "ferry-"));
  const dbPath = join(dir, `${name}.duckdb`);
  const options = (more: Partial<PipelineOptions>): PipelineOptions => ({
    name,
    destination: `duckdb:${dbPath}`,
    dir: join(dir, ".ferry"),
    logger: silentLogger,
    ...extra,
    ...more,
  });
  return {
    p: pipeline(options({})),
    dir,
    dbPath,
    reopen: (more = {}) => pipeline(options(more)),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `[column_name, data_type]` of a table, in column order, from information_schema. */
export async function columnsOf(
  p: Pipeline,
  dataset: string,
  table: string,
): Promise<Array<[string, string]>> {
  const rows = await p
    .dataset()
    .sql(
      "select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position",
      [dataset, table],
    );
  return rows.map((r) => [String(r.column_name), String(r.data_type)]);
}
