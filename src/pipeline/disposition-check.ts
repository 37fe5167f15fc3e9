import type { Destination } from "../destinations/destination.js";
import type { Source } from "../extract/source.js";
import { resolveWriteDisposition } from "../schema/types.js";
import { ConfigError } from "../util/errors.js";

/**
 * Rejects, before anything is extracted, a merge the destination cannot do: from its capabilities
 * (`mergeStrategies`), never its name. File destinations declare none; a destination may offer some strategies only.
 *
 * @example
 * assertDispositionsSupported(await ctx.destination(), src); // throws ConfigError for merge into files
 */
export function assertDispositionsSupported(destination: Destination, src: Source): void {
  const caps = destination.capabilities;
  for (const r of src.resources) {
    if (!r.selected) continue;
    const wd = resolveWriteDisposition(r.options.writeDisposition);
    if (wd.disposition !== "merge" || caps.mergeStrategies.includes(wd.strategy ?? "delete-insert")) continue;
    const what =
      caps.mergeStrategies.length === 0
        ? "cannot merge"
        : `cannot merge with strategy "${wd.strategy}" (it offers ${caps.mergeStrategies.join(", ")})`;
    throw new ConfigError(
      `destination ${destination.description} ${what}: resource "${r.name}" uses writeDisposition "merge"`,
      {
        fields: { resource: r.name },
        hint:
          caps.mergeStrategies.length === 0
            ? 'use writeDisposition "append" or "replace" with this destination, or load into a destination that ' +
              "merges (a SQL destination such as duckdb or postgres). Merging into files needs a table format " +
              "(Delta Lake), which arrives in its own issue."
            : `use strategy ${caps.mergeStrategies.map((s) => `"${s}"`).join(" or ")}, or another destination`,
      },
    );
  }
}
