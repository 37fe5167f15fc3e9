import { DestinationError } from "../../util/errors.js";

/** What to do instead of merging into plain files. */
export const MERGE_ALTERNATIVES =
  'use writeDisposition "append" or "replace" with plain files, store the table as a Delta table, which merges ' +
  '(tableFormat: "delta" on the resource, or ?table_format=delta on the destination), or load into a SQL ' +
  "destination that merges (duckdb, postgres)";

/**
 * The error of a merge that reached a filesystem client (the pipeline rejects merge before extracting, from the
 * destination's capabilities; this catches packages extracted for another destination). Terminal: nothing is
 * written.
 *
 * @example
 * throw mergeRejection("issues", loadId);
 */
export function mergeRejection(table: string, loadId: string): DestinationError {
  return new DestinationError(`plain files cannot merge: table "${table}" uses writeDisposition "merge"`, {
    fields: { table, loadId },
    hint: MERGE_ALTERNATIVES,
  });
}
