import { DestinationError } from "../../util/errors.js";

/** What to do instead of merging into plain files. */
export const MERGE_ALTERNATIVES =
  'use writeDisposition "append" or "replace" with file destinations, or load into a SQL destination that merges ' +
  "(duckdb, postgres); merging into files needs a table format (Delta Lake), which arrives in its own issue";

/**
 * The error of a merge that reached a filesystem client (the pipeline rejects merge before extracting, from the
 * destination's capabilities; this catches packages extracted for another destination). Terminal: nothing is
 * written.
 *
 * @example
 * throw mergeRejection("issues", loadId);
 */
export function mergeRejection(table: string, loadId: string): DestinationError {
  return new DestinationError(
    `the filesystem destination cannot merge: table "${table}" uses writeDisposition "merge"`,
    { fields: { table, loadId }, hint: MERGE_ALTERNATIVES },
  );
}
