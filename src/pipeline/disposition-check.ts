import type { Destination } from "../destinations/destination.js";
import type { Source } from "../extract/source.js";
import { type MergeStrategy, resolveWriteDisposition } from "../schema/types.js";
import { ConfigError } from "../util/errors.js";

/**
 * Rejects, before anything is extracted, a table format or a merge the destination cannot do: from its
 * capabilities (`tableFormats`, `mergeStrategies`), never its name. Plain files merge nothing; their Delta tables
 * (`table_format: delta` on the destination, or `tableFormat: "delta"` per resource) merge both ways.
 *
 * @example
 * assertDispositionsSupported(await ctx.destination(), src); // throws ConfigError for merge into plain files
 */
export function assertDispositionsSupported(destination: Destination, src: Source): void {
  const caps = destination.capabilities;
  for (const r of src.resources) {
    if (!r.selected) continue;
    const format = r.options.tableFormat ?? "native";
    let strategies: readonly MergeStrategy[] = caps.mergeStrategies;
    if (format !== "native") {
      const offered = caps.tableFormats?.[format];
      if (!offered) {
        throw new ConfigError(
          `destination ${destination.description} does not write ${format} tables: resource "${r.name}" asks for tableFormat "${format}"`,
          {
            fields: { resource: r.name },
            hint:
              "Delta tables are written by the filesystem destination (file://, s3://, gs://, az://); load into one " +
              "of those, or remove tableFormat (table_format) from the resource",
          },
        );
      }
      strategies = offered.mergeStrategies;
    }
    const wd = resolveWriteDisposition(r.options.writeDisposition);
    if (wd.disposition !== "merge" || strategies.includes(wd.strategy ?? "delete-insert")) continue;
    const what =
      strategies.length === 0
        ? "cannot merge"
        : `cannot merge with strategy "${wd.strategy}" (it offers ${strategies.join(", ")})`;
    const delta = format === "native" ? caps.tableFormats?.delta : undefined;
    throw new ConfigError(
      `destination ${destination.description} ${what}: resource "${r.name}" uses writeDisposition "merge"`,
      {
        fields: { resource: r.name },
        hint:
          strategies.length > 0
            ? `use strategy ${strategies.map((s) => `"${s}"`).join(" or ")}, or another destination`
            : delta && delta.mergeStrategies.length > 0
              ? 'use writeDisposition "append" or "replace", store the table as a Delta table, which merges ' +
                '(tableFormat: "delta" on the resource, or ?table_format=delta on the destination), or load into ' +
                "a SQL destination that merges (duckdb or postgres)"
              : 'use writeDisposition "append" or "replace" with this destination, or load into a destination ' +
                "that merges (a SQL destination such as duckdb or postgres, or Delta tables on files)",
      },
    );
  }
}
