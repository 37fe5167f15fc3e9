/**
 * The layout of the embedded person store (`PRAGMA user_version` 2). Every row carries the number of the batch that
 * last wrote it (`batch`), so that a batch's changes are found (for the destination) and undone (when the destination
 * did not commit them) without a second copy of them:
 *
 * - `persons`: keyed by a row number (`pk`) that grows, so that a new person is appended rather than inserted at a
 *   random place (its `id`, a random-looking uuid, is not indexed: the store finds a person through its distinct ids).
 *   `deleted` marks a person merged away in the batch in progress (removed once the batch is applied).
 * - `distinct_ids`: the person's row number and the id's version.
 * - `personless`, `groups`, `group_types`.
 * - `undo_*`: the rows as they were before the batch in progress changed them (written the first time the batch
 *   changes a row; rows the batch created need no copy, their `batch` says so).
 * - `meta`: `positions` (the log positions applied), `prepared` (the positions of the batch whose changes are durable
 *   and wait for the destination), `batch` (the number of the last batch applied).
 */
export const SCHEMA_VERSION = 2;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS persons (
  pk INTEGER PRIMARY KEY, id TEXT NOT NULL, properties TEXT NOT NULL, is_identified INTEGER NOT NULL,
  created_at TEXT NOT NULL, version INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, batch INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS persons_batch ON persons (batch);
CREATE TABLE IF NOT EXISTS distinct_ids (
  distinct_id TEXT PRIMARY KEY, person INTEGER NOT NULL, version INTEGER NOT NULL, batch INTEGER NOT NULL)
  WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS distinct_ids_person ON distinct_ids (person);
CREATE INDEX IF NOT EXISTS distinct_ids_batch ON distinct_ids (batch);
CREATE TABLE IF NOT EXISTS personless (distinct_id TEXT PRIMARY KEY, batch INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS personless_batch ON personless (batch);
CREATE TABLE IF NOT EXISTS groups (
  group_type TEXT NOT NULL, group_key TEXT NOT NULL, properties TEXT NOT NULL, created_at TEXT NOT NULL,
  version INTEGER NOT NULL, batch INTEGER NOT NULL, PRIMARY KEY (group_type, group_key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS groups_batch ON groups (batch);
CREATE TABLE IF NOT EXISTS group_types (
  group_type TEXT PRIMARY KEY, idx INTEGER NOT NULL UNIQUE, batch INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS undo_persons (
  pk INTEGER PRIMARY KEY, id TEXT NOT NULL, properties TEXT NOT NULL, is_identified INTEGER NOT NULL,
  created_at TEXT NOT NULL, version INTEGER NOT NULL, deleted INTEGER NOT NULL, batch INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS undo_distinct_ids (
  distinct_id TEXT PRIMARY KEY, person INTEGER NOT NULL, version INTEGER NOT NULL, batch INTEGER NOT NULL)
  WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS undo_groups (
  group_type TEXT NOT NULL, group_key TEXT NOT NULL, properties TEXT NOT NULL, created_at TEXT NOT NULL,
  version INTEGER NOT NULL, batch INTEGER NOT NULL, PRIMARY KEY (group_type, group_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
PRAGMA user_version = ${SCHEMA_VERSION};
`;

/** Forgets what undoes the batch (it is applied, or undone). */
export const FORGET_UNDO_SQL = `
DELETE FROM undo_persons; DELETE FROM undo_distinct_ids; DELETE FROM undo_groups;
`;

/**
 * Undoes the batch numbered `batch` (prepared, not committed by the destination): what it created goes, what it
 * changed or deleted comes back from the undo tables, which are emptied.
 */
export function undoSql(batch: number): string {
  if (!Number.isSafeInteger(batch)) throw new Error(`a batch number, not ${batch}`);
  return `
DELETE FROM persons WHERE batch >= ${batch};
INSERT INTO persons SELECT * FROM undo_persons;
DELETE FROM distinct_ids WHERE batch >= ${batch};
INSERT INTO distinct_ids SELECT * FROM undo_distinct_ids;
DELETE FROM personless WHERE batch >= ${batch};
DELETE FROM groups WHERE batch >= ${batch};
INSERT INTO groups SELECT * FROM undo_groups;
DELETE FROM group_types WHERE batch >= ${batch};
${FORGET_UNDO_SQL}`;
}
