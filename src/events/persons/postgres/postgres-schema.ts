/**
 * The Postgres person store's tables in schema `s` (quoted), shared by every project (`token`) and every server
 * (`consumer`, a server's name for its own pending area and log positions): the applied state, the pending changes
 * of each server's batch in progress (with the versions they were based on, to detect another server's change), and
 * `batches` (per project and server: log positions applied, batch prepared).
 */
export function schemaSql(s: string): string {
  return `
CREATE SCHEMA IF NOT EXISTS ${s};
CREATE TABLE IF NOT EXISTS ${s}.persons (
  token text NOT NULL, id text NOT NULL, properties jsonb NOT NULL, is_identified boolean NOT NULL,
  created_at text NOT NULL, version bigint NOT NULL, PRIMARY KEY (token, id));
CREATE TABLE IF NOT EXISTS ${s}.distinct_ids (
  token text NOT NULL, distinct_id text NOT NULL, person_id text NOT NULL, version bigint NOT NULL,
  PRIMARY KEY (token, distinct_id));
CREATE INDEX IF NOT EXISTS distinct_ids_person ON ${s}.distinct_ids (token, person_id);
CREATE TABLE IF NOT EXISTS ${s}.personless (token text NOT NULL, distinct_id text NOT NULL, PRIMARY KEY (token, distinct_id));
CREATE TABLE IF NOT EXISTS ${s}.groups (
  token text NOT NULL, group_type text NOT NULL, group_key text NOT NULL, properties jsonb NOT NULL,
  created_at text NOT NULL, version bigint NOT NULL, PRIMARY KEY (token, group_type, group_key));
CREATE TABLE IF NOT EXISTS ${s}.group_types (
  token text NOT NULL, group_type text NOT NULL, idx integer NOT NULL, PRIMARY KEY (token, group_type),
  UNIQUE (token, idx));
CREATE TABLE IF NOT EXISTS ${s}.pending_persons (
  token text NOT NULL, consumer text NOT NULL, id text NOT NULL, properties jsonb NOT NULL,
  is_identified boolean NOT NULL, created_at text NOT NULL, version bigint NOT NULL, deleted boolean NOT NULL,
  base_version bigint, PRIMARY KEY (token, consumer, id));
CREATE TABLE IF NOT EXISTS ${s}.pending_distinct_ids (
  token text NOT NULL, consumer text NOT NULL, distinct_id text NOT NULL, person_id text NOT NULL,
  version bigint NOT NULL, base_version bigint, PRIMARY KEY (token, consumer, distinct_id));
CREATE INDEX IF NOT EXISTS pending_distinct_ids_person ON ${s}.pending_distinct_ids (token, consumer, person_id);
CREATE TABLE IF NOT EXISTS ${s}.pending_personless (
  token text NOT NULL, consumer text NOT NULL, distinct_id text NOT NULL, PRIMARY KEY (token, consumer, distinct_id));
CREATE TABLE IF NOT EXISTS ${s}.pending_groups (
  token text NOT NULL, consumer text NOT NULL, group_type text NOT NULL, group_key text NOT NULL,
  properties jsonb NOT NULL, created_at text NOT NULL, version bigint NOT NULL, base_version bigint,
  PRIMARY KEY (token, consumer, group_type, group_key));
CREATE TABLE IF NOT EXISTS ${s}.pending_group_types (
  token text NOT NULL, consumer text NOT NULL, group_type text NOT NULL, idx integer NOT NULL,
  PRIMARY KEY (token, consumer, group_type));
CREATE TABLE IF NOT EXISTS ${s}.batches (
  token text NOT NULL, consumer text NOT NULL, positions jsonb NOT NULL, prepared jsonb,
  PRIMARY KEY (token, consumer));
`;
}

/** Pending changes of one (token $1, consumer $2) over the applied state; latest writer wins. */
export function applySql(s: string): string[] {
  const mine = "token = $1 AND consumer = $2";
  return [
    `DELETE FROM ${s}.persons m USING ${s}.pending_persons p
     WHERE p.token = $1 AND p.consumer = $2 AND p.deleted AND m.token = $1 AND m.id = p.id`,
    `INSERT INTO ${s}.persons (token, id, properties, is_identified, created_at, version)
     SELECT token, id, properties, is_identified, created_at, version FROM ${s}.pending_persons WHERE ${mine} AND NOT deleted
     ON CONFLICT (token, id) DO UPDATE SET properties = EXCLUDED.properties, is_identified = EXCLUDED.is_identified,
       created_at = EXCLUDED.created_at, version = EXCLUDED.version`,
    `INSERT INTO ${s}.distinct_ids (token, distinct_id, person_id, version)
     SELECT token, distinct_id, person_id, version FROM ${s}.pending_distinct_ids WHERE ${mine}
     ON CONFLICT (token, distinct_id) DO UPDATE SET person_id = EXCLUDED.person_id, version = EXCLUDED.version`,
    `INSERT INTO ${s}.personless (token, distinct_id) SELECT token, distinct_id FROM ${s}.pending_personless WHERE ${mine}
     ON CONFLICT DO NOTHING`,
    `INSERT INTO ${s}.groups (token, group_type, group_key, properties, created_at, version)
     SELECT token, group_type, group_key, properties, created_at, version FROM ${s}.pending_groups WHERE ${mine}
     ON CONFLICT (token, group_type, group_key) DO UPDATE SET properties = EXCLUDED.properties,
       created_at = EXCLUDED.created_at, version = EXCLUDED.version`,
    `INSERT INTO ${s}.group_types (token, group_type, idx) SELECT token, group_type, idx FROM ${s}.pending_group_types
     WHERE ${mine} ON CONFLICT DO NOTHING`,
  ];
}

/** Empties the pending area of (token $1, consumer $2). */
export function clearSql(s: string): string[] {
  return [
    "pending_persons",
    "pending_distinct_ids",
    "pending_personless",
    "pending_groups",
    "pending_group_types",
  ].map((t) => `DELETE FROM ${s}.${t} WHERE token = $1 AND consumer = $2`);
}

/** How many pending rows were based on a version the applied state no longer has (another server changed them). */
export function conflictSql(s: string): string {
  const mine = "p.token = $1 AND p.consumer = $2";
  return `SELECT
    (SELECT count(*) FROM ${s}.pending_persons p LEFT JOIN ${s}.persons m ON m.token = p.token AND m.id = p.id
      WHERE ${mine} AND m.version IS DISTINCT FROM p.base_version)
  + (SELECT count(*) FROM ${s}.pending_distinct_ids p LEFT JOIN ${s}.distinct_ids m
      ON m.token = p.token AND m.distinct_id = p.distinct_id WHERE ${mine} AND m.version IS DISTINCT FROM p.base_version)
  + (SELECT count(*) FROM ${s}.pending_groups p LEFT JOIN ${s}.groups m
      ON m.token = p.token AND m.group_type = p.group_type AND m.group_key = p.group_key
      WHERE ${mine} AND m.version IS DISTINCT FROM p.base_version) AS n`;
}
