import type { ColumnHint } from "../../schema/types.js";
import type { BatchTable } from "../ingest/stage.js";
import type { PersonStore } from "./person-store.js";

/**
 * `persons` (contract: id, properties, is_identified, created_at, version). One row per live person, replaced by
 * id when it changes. A person merged into another is deleted: its last row carries `is_deleted: true`, a hard-delete
 * column, so the merge removes it and no row with `is_deleted` true stays in the table.
 */
export const PERSON_COLUMNS: Readonly<Record<string, ColumnHint>> = {
  id: { type: "text", nullable: false },
  properties: { type: "json" },
  is_identified: { type: "bool", nullable: false },
  created_at: { type: "timestamp", nullable: false },
  version: { type: "bigint", nullable: false, dedupSort: "desc" },
  is_deleted: { type: "bool", hardDelete: true },
};

/** `person_distinct_ids` (contract): which person each distinct_id belongs to, replaced by distinct_id. */
export const PERSON_DISTINCT_ID_COLUMNS: Readonly<Record<string, ColumnHint>> = {
  distinct_id: { type: "text", nullable: false },
  person_id: { type: "text", nullable: false },
  version: { type: "bigint", nullable: false, dedupSort: "desc" },
};

/** `groups` (contract: group_type, group_key, properties, version; plus created_at), replaced by type and key. */
export const GROUP_COLUMNS: Readonly<Record<string, ColumnHint>> = {
  group_type: { type: "text", nullable: false },
  group_key: { type: "text", nullable: false },
  properties: { type: "json" },
  created_at: { type: "timestamp", nullable: false },
  version: { type: "bigint", nullable: false, dedupSort: "desc" },
};

const MERGE = { disposition: "merge", strategy: "upsert" } as const;

/**
 * The person tables a batch loads with its events: the store's pending rows, merged into the tables by key. They are
 * read once the batch's last event is processed; `ready` (the store's `prepare`, run once) comes first.
 */
export function personTables(store: PersonStore, ready: () => Promise<void>): BatchTable[] {
  return [
    {
      name: "persons",
      columns: PERSON_COLUMNS,
      primaryKey: ["id"],
      writeDisposition: MERGE,
      async *rows() {
        await ready();
        for await (const page of store.pending("persons")) {
          yield page.map((p) => ({
            id: p.id,
            properties: p.deleted ? null : p.properties,
            is_identified: p.isIdentified,
            created_at: p.createdAt,
            version: p.version,
            is_deleted: p.deleted,
          }));
        }
      },
    },
    {
      name: "person_distinct_ids",
      columns: PERSON_DISTINCT_ID_COLUMNS,
      primaryKey: ["distinct_id"],
      writeDisposition: MERGE,
      async *rows() {
        await ready();
        for await (const page of store.pending("person_distinct_ids")) {
          yield page.map((d) => ({ distinct_id: d.distinctId, person_id: d.personId, version: d.version }));
        }
      },
    },
    {
      name: "groups",
      columns: GROUP_COLUMNS,
      primaryKey: ["group_type", "group_key"],
      writeDisposition: MERGE,
      async *rows() {
        await ready();
        for await (const page of store.pending("groups")) {
          yield page.map((g) => ({
            group_type: g.groupType,
            group_key: g.groupKey,
            properties: g.properties,
            created_at: g.createdAt,
            version: g.version,
          }));
        }
      },
    },
  ];
}
