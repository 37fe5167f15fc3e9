import type Database from "better-sqlite3";
import { FerryError } from "../../../util/errors.js";
import { SCHEMA_SQL, SCHEMA_VERSION } from "./sqlite-schema.js";

/** Tables of the first layout (a pending area beside the applied tables), renamed while they are copied. */
const V1_TABLES = ["persons", "distinct_ids", "personless", "groups", "group_types"];
const V1_PENDING = ["pending_persons", "pending_distinct_ids", "pending_personless", "pending_groups"];

/**
 * Brings a store file written by an earlier ferry to the current layout, in one transaction: the applied persons are
 * copied, and a batch the old store had prepared (its pending area, waiting for the destination) becomes the prepared
 * batch of the new layout, with what undoes it, so that `recover` applies or undoes it as it would have. Changes that
 * were not prepared are dropped (they would have been discarded). A file of a later layout is refused.
 */
export function migrateToCurrent(db: Database.Database, path: string): void {
  const version = db.pragma("user_version", { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new FerryError(
      `the person store ${path} was written by a newer version of ferry (layout ${version}; this one reads ${SCHEMA_VERSION})`,
      { hint: "run the ferry version that wrote it, or remove the file to rebuild persons from new events" },
    );
  }
  const has = (table: string) =>
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
  if (version !== 0 || !has("pending_persons")) return;
  db.transaction(() => {
    db.exec("DROP INDEX IF EXISTS distinct_ids_person; DROP INDEX IF EXISTS pending_distinct_ids_person;");
    for (const t of V1_TABLES) db.exec(`ALTER TABLE ${t} RENAME TO v1_${t}`);
    db.exec(SCHEMA_SQL);
    db.exec(`
      INSERT INTO persons (id, properties, is_identified, created_at, version, deleted, batch)
        SELECT id, properties, is_identified, created_at, version, 0, 0 FROM v1_persons ORDER BY id;
      CREATE INDEX migrate_persons_id ON persons (id);
      INSERT INTO distinct_ids (distinct_id, person, version, batch)
        SELECT d.distinct_id, p.pk, d.version, 0 FROM v1_distinct_ids d JOIN persons p ON p.id = d.person_id;
      INSERT INTO personless (distinct_id, batch) SELECT distinct_id, 0 FROM v1_personless;
      INSERT INTO groups (group_type, group_key, properties, created_at, version, batch)
        SELECT group_type, group_key, properties, created_at, version, 0 FROM v1_groups;
      INSERT INTO group_types (group_type, idx, batch) SELECT group_type, idx, 0 FROM v1_group_types;
    `);
    const prepared = db.prepare("SELECT 1 FROM meta WHERE key = 'prepared'").get() !== undefined;
    if (prepared) db.exec(PREPARED_BATCH_SQL);
    db.exec(`
      DROP INDEX migrate_persons_id;
      DROP TABLE pending_group_types;
      INSERT OR REPLACE INTO meta (key, value) VALUES ('batch', '0');
    `);
    for (const t of [...V1_TABLES.map((t) => `v1_${t}`), ...V1_PENDING]) db.exec(`DROP TABLE ${t}`);
  })();
}

/** The old prepared pending area as batch 1 of the new layout (rows it changes saved in the undo tables first). */
const PREPARED_BATCH_SQL = `
INSERT INTO undo_persons SELECT p.* FROM persons p WHERE p.id IN (SELECT id FROM pending_persons);
UPDATE persons SET properties = pp.properties, is_identified = pp.is_identified, created_at = pp.created_at,
  version = pp.version, deleted = pp.deleted, batch = 1
  FROM pending_persons pp WHERE pp.id = persons.id;
INSERT INTO persons (id, properties, is_identified, created_at, version, deleted, batch)
  SELECT id, properties, is_identified, created_at, version, deleted, 1 FROM pending_persons
  WHERE id NOT IN (SELECT id FROM persons);
INSERT INTO undo_distinct_ids SELECT d.* FROM distinct_ids d
  WHERE d.distinct_id IN (SELECT distinct_id FROM pending_distinct_ids);
INSERT INTO distinct_ids (distinct_id, person, version, batch)
  SELECT pd.distinct_id, p.pk, pd.version, 1 FROM pending_distinct_ids pd JOIN persons p ON p.id = pd.person_id
  WHERE true ON CONFLICT (distinct_id) DO UPDATE SET person = excluded.person, version = excluded.version, batch = 1;
INSERT OR IGNORE INTO personless (distinct_id, batch) SELECT distinct_id, 1 FROM pending_personless;
INSERT INTO undo_groups SELECT g.* FROM groups g JOIN pending_groups pg USING (group_type, group_key);
INSERT INTO groups (group_type, group_key, properties, created_at, version, batch)
  SELECT group_type, group_key, properties, created_at, version, 1 FROM pending_groups
  WHERE true ON CONFLICT (group_type, group_key) DO UPDATE SET properties = excluded.properties,
    created_at = excluded.created_at, version = excluded.version, batch = 1;
INSERT OR IGNORE INTO group_types (group_type, idx, batch) SELECT group_type, idx, 1 FROM pending_group_types;
`;
