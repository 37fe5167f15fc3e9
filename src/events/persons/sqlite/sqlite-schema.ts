/**
 * The embedded person store's tables: the applied state, the pending changes of the batch in progress (same shape,
 * plus `deleted` for persons merged away), and `meta` (`positions`: the log positions applied; `prepared`: the
 * positions of the batch whose pending changes are complete).
 */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS persons (
  id TEXT PRIMARY KEY, properties TEXT NOT NULL, is_identified INTEGER NOT NULL, created_at TEXT NOT NULL,
  version INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS distinct_ids (
  distinct_id TEXT PRIMARY KEY, person_id TEXT NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS distinct_ids_person ON distinct_ids (person_id);
CREATE TABLE IF NOT EXISTS personless (distinct_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS groups (
  group_type TEXT NOT NULL, group_key TEXT NOT NULL, properties TEXT NOT NULL, created_at TEXT NOT NULL,
  version INTEGER NOT NULL, PRIMARY KEY (group_type, group_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_types (group_type TEXT PRIMARY KEY, idx INTEGER NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS pending_persons (
  id TEXT PRIMARY KEY, properties TEXT NOT NULL, is_identified INTEGER NOT NULL, created_at TEXT NOT NULL,
  version INTEGER NOT NULL, deleted INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending_distinct_ids (
  distinct_id TEXT PRIMARY KEY, person_id TEXT NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_distinct_ids_person ON pending_distinct_ids (person_id);
CREATE TABLE IF NOT EXISTS pending_personless (distinct_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending_groups (
  group_type TEXT NOT NULL, group_key TEXT NOT NULL, properties TEXT NOT NULL, created_at TEXT NOT NULL,
  version INTEGER NOT NULL, PRIMARY KEY (group_type, group_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending_group_types (group_type TEXT PRIMARY KEY, idx INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`;
