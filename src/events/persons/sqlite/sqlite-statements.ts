import type Database from "better-sqlite3";

export type Row = Record<string, unknown>;
type Statement = Database.Statement<unknown[], Row>;

/** The store's statements by name (see `statements`). */
export type Statements = Record<(typeof NAMES)[number], Statement>;

const NAMES = [
  "lookup",
  "personless",
  "idsOf",
  "group",
  "types",
  "insertPerson",
  "savePerson",
  "updatePerson",
  "deletePerson",
  "saveId",
  "upsertId",
  "addPersonless",
  "saveGroup",
  "upsertGroup",
  "addType",
  "pagePersons",
  "pageIds",
  "pageGroups",
  "purgeDeleted",
  "meta",
  "setMeta",
  "delMeta",
] as const;

/**
 * The prepared statements of the embedded person store (layout in sqlite-schema.ts). `save*` copy a row into its undo
 * table the first time the batch in progress changes it (a row the batch wrote already has its number).
 */
export function statements(db: Database.Database): Statements {
  const p = (sql: string): Statement => db.prepare<unknown[], Row>(sql);
  return {
    lookup: p(
      "SELECT d.person AS pk, d.version AS dversion, p.id, p.properties, p.is_identified, p.created_at, p.version, p.deleted FROM distinct_ids d LEFT JOIN persons p ON p.pk = d.person WHERE d.distinct_id = ?",
    ),
    personless: p("SELECT 1 AS x FROM personless WHERE distinct_id = ?"),
    idsOf: p("SELECT distinct_id, version FROM distinct_ids WHERE person = ?"),
    group: p("SELECT * FROM groups WHERE group_type = ? AND group_key = ?"),
    types: p("SELECT group_type, idx FROM group_types ORDER BY idx"),

    insertPerson: p(
      "INSERT INTO persons (id, properties, is_identified, created_at, version, deleted, batch) VALUES (?, ?, ?, ?, ?, 0, ?)",
    ),
    savePerson: p("INSERT OR IGNORE INTO undo_persons SELECT * FROM persons WHERE pk = ? AND batch < ?"),
    updatePerson: p(
      "UPDATE persons SET properties = ?, is_identified = ?, created_at = ?, version = ?, deleted = 0, batch = ? WHERE pk = ?",
    ),
    deletePerson: p("UPDATE persons SET version = ?, deleted = 1, batch = ? WHERE pk = ?"),
    saveId: p(
      "INSERT OR IGNORE INTO undo_distinct_ids SELECT * FROM distinct_ids WHERE distinct_id = ? AND batch < ?",
    ),
    upsertId: p(
      "INSERT INTO distinct_ids (distinct_id, person, version, batch) VALUES (?, ?, ?, ?) ON CONFLICT (distinct_id) DO UPDATE SET person = excluded.person, version = excluded.version, batch = excluded.batch",
    ),
    addPersonless: p("INSERT OR IGNORE INTO personless (distinct_id, batch) VALUES (?, ?)"),
    saveGroup: p(
      "INSERT OR IGNORE INTO undo_groups SELECT * FROM groups WHERE group_type = ? AND group_key = ? AND batch < ?",
    ),
    upsertGroup: p(
      "INSERT INTO groups (group_type, group_key, properties, created_at, version, batch) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (group_type, group_key) DO UPDATE SET properties = excluded.properties, created_at = excluded.created_at, version = excluded.version, batch = excluded.batch",
    ),
    addType: p("INSERT OR IGNORE INTO group_types (group_type, idx, batch) VALUES (?, ?, ?)"),

    pagePersons: p("SELECT * FROM persons WHERE batch = ? AND pk > ? ORDER BY pk LIMIT ?"),
    pageIds: p(
      "SELECT d.distinct_id, p.id AS person_id, d.version FROM distinct_ids d JOIN persons p ON p.pk = d.person WHERE d.batch = ? AND d.distinct_id > ? ORDER BY d.distinct_id LIMIT ?",
    ),
    pageGroups: p(
      "SELECT * FROM groups WHERE batch = ? AND (group_type, group_key) > (?, ?) ORDER BY group_type, group_key LIMIT ?",
    ),
    /** Persons the applied batch merged away. */
    purgeDeleted: p("DELETE FROM persons WHERE batch = ? AND deleted = 1"),

    meta: p("SELECT value FROM meta WHERE key = ?"),
    setMeta: p("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"),
    delMeta: p("DELETE FROM meta WHERE key = ?"),
  };
}
