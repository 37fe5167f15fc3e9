import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { FerryError } from "../../../util/errors.js";
import type { LogPositions } from "../../log/event-log.js";
import { LruMap } from "../lru-map.js";
import {
  aheadOf,
  type DistinctIdRow,
  type Group,
  groupKeyOf,
  type PendingPerson,
  type Person,
  type PersonChanges,
  type PersonLookup,
  type PersonStore,
  type RecoverOutcome,
  samePositions,
} from "../person-store.js";
import { SCHEMA_SQL } from "./sqlite-schema.js";

/** Pending rows are handed to the destination this many at a time. */
const PAGE_ROWS = 2_000;

/** Distinct ids and persons kept in memory (what reads found, what pages staged): a bounded share of the store. */
const CACHED_IDS = 50_000;
const CACHED_PERSONS = 25_000;

type Row = Record<string, unknown>;

const toPerson = (r: Row): Person => ({
  id: r.id as string,
  properties: JSON.parse(r.properties as string),
  isIdentified: r.is_identified === 1,
  createdAt: r.created_at as string,
  version: r.version as number,
});
const toDistinctId = (r: Row): DistinctIdRow => ({
  distinctId: r.distinct_id as string,
  personId: r.person_id as string,
  version: r.version as number,
});
const toGroup = (r: Row): Group => ({
  groupType: r.group_type as string,
  groupKey: r.group_key as string,
  properties: JSON.parse(r.properties as string),
  createdAt: r.created_at as string,
  version: r.version as number,
});

/**
 * The embedded person store: one SQLite file per project (`<dir>/_serve/persons/<dataset>.sqlite`), in WAL mode, held
 * by one server at a time (exclusive lock). Persons live on disk; SQLite's page cache (32 MB) is the only cache, so
 * memory does not grow with the number of persons. Pending changes sit in tables of their own next to the applied
 * ones; `prepare` and `commit` are synced to disk before they return.
 *
 * @example
 * const store = SqlitePersonStore.open("/srv/.ferry/_serve/persons/posthog.sqlite");
 */
export class SqlitePersonStore implements PersonStore {
  readonly description: string;
  readonly #db: Database.Database;
  readonly #q: ReturnType<typeof statements>;
  /** Whether the pending area may hold rows (reads skip it when it is empty). */
  #staged: boolean;
  /**
   * Recently used rows as reads see them (pending over applied; null: not in the store). Staged changes are written
   * through; discarding the pending area clears them.
   */
  readonly #ids = new LruMap<string, DistinctIdRow | null>(CACHED_IDS);
  readonly #persons = new LruMap<string, Person | null>(CACHED_PERSONS);

  private constructor(path: string, db: Database.Database) {
    this.description = `sqlite:${path}`;
    this.#db = db;
    this.#q = statements(db);
    this.#staged = this.#q.anyPending.get()?.x === 1;
  }

  /** Opens (creating) the store at `path`; refuses a file another server holds. */
  static open(path: string): SqlitePersonStore {
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path, { timeout: 0 });
    try {
      db.pragma("locking_mode = EXCLUSIVE");
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      db.pragma("cache_size = -32768");
      db.exec(SCHEMA_SQL);
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code === "SQLITE_BUSY") {
        throw new FerryError(`the person store ${path} is in use by another process`, {
          hint: "each ferry serve needs a --dir of its own; to share persons between servers use serve.persons.store: postgres://...",
        });
      }
      throw err;
    }
    return new SqlitePersonStore(path, db);
  }

  async lookup(distinctIds: readonly string[], personless: readonly string[]): Promise<PersonLookup> {
    const q = this.#q;
    const out: PersonLookup = { distinctIds: new Map(), persons: new Map(), personless: new Set() };
    const staged = this.#staged;
    for (const id of distinctIds) {
      let row = this.#ids.get(id);
      if (row === undefined) {
        const r = (staged ? q.pendingId.get(id) : undefined) ?? q.id.get(id);
        row = r ? toDistinctId(r) : null;
        this.#ids.set(id, row);
      }
      if (!row) continue;
      out.distinctIds.set(id, row);
      if (out.persons.has(row.personId)) continue;
      const p = this.#person(row.personId);
      if (p) out.persons.set(p.id, p);
    }
    for (const id of personless) {
      if ((staged && q.pendingPersonless.get(id)) || q.personless.get(id)) out.personless.add(id);
    }
    return out;
  }

  #person(id: string): Person | undefined {
    const cached = this.#persons.get(id);
    if (cached !== undefined) return cached ?? undefined;
    const q = this.#q;
    const pending = this.#staged ? q.pendingPerson.get(id) : undefined;
    const r = pending ?? q.person.get(id);
    const p = r && r.deleted !== 1 ? toPerson(r) : null;
    this.#persons.set(id, p);
    return p ?? undefined;
  }

  async distinctIdsOf(personId: string): Promise<DistinctIdRow[]> {
    const q = this.#q;
    const out = new Map<string, DistinctIdRow>();
    for (const r of q.idsOf.all(personId)) {
      // An id the batch moved elsewhere belongs to the other person now.
      const moved = this.#staged ? q.pendingIdOf.get(r.distinct_id) : undefined;
      if (!moved || moved.person_id === personId) out.set(r.distinct_id as string, toDistinctId(r));
    }
    if (this.#staged)
      for (const r of q.pendingIdsOf.all(personId)) out.set(r.distinct_id as string, toDistinctId(r));
    return [...out.values()];
  }

  async groups(keys: ReadonlyArray<{ groupType: string; groupKey: string }>) {
    const q = this.#q;
    const groups = new Map<string, Group>();
    for (const { groupType, groupKey } of keys) {
      const r =
        (this.#staged ? q.pendingGroup.get(groupType, groupKey) : undefined) ??
        q.group.get(groupType, groupKey);
      if (r) groups.set(groupKeyOf(groupType, groupKey), toGroup(r));
    }
    const types = new Map<string, number>();
    for (const r of q.types.all()) types.set(r.group_type as string, r.idx as number);
    return { groups, types };
  }

  async stage(c: PersonChanges): Promise<void> {
    const q = this.#q;
    this.#db.transaction(() => {
      for (const p of c.persons)
        q.stagePerson.run(
          p.id,
          JSON.stringify(p.properties),
          p.isIdentified ? 1 : 0,
          p.createdAt,
          p.version,
          0,
        );
      for (const d of c.deletedPersons) q.stagePerson.run(d.id, "{}", 0, "", d.version, 1);
      for (const d of c.distinctIds) q.stageId.run(d.distinctId, d.personId, d.version);
      for (const id of c.personless) q.stagePersonless.run(id);
      for (const g of c.groups)
        q.stageGroup.run(g.groupType, g.groupKey, JSON.stringify(g.properties), g.createdAt, g.version);
      for (const t of c.groupTypes) q.stageType.run(t.groupType, t.index);
    })();
    this.#staged = true;
    for (const p of c.persons) this.#persons.set(p.id, p);
    for (const d of c.deletedPersons) this.#persons.set(d.id, null);
    for (const d of c.distinctIds) this.#ids.set(d.distinctId, d);
  }

  async prepare(until: LogPositions): Promise<void> {
    // Nothing staged, nothing to recover: a crash after the destination commits only leaves positions behind.
    if (this.#staged) this.#synced(() => this.#q.setMeta.run("prepared", JSON.stringify(until)));
  }

  pending(table: "persons"): AsyncIterable<PendingPerson[]>;
  pending(table: "person_distinct_ids"): AsyncIterable<DistinctIdRow[]>;
  pending(table: "groups"): AsyncIterable<Group[]>;
  async *pending(
    table: "persons" | "person_distinct_ids" | "groups",
  ): AsyncIterable<PendingPerson[] | DistinctIdRow[] | Group[]> {
    const q = this.#q;
    if (!this.#staged) return;
    if (table === "persons") {
      for (let after = ""; ; ) {
        const rows = q.pagePersons.all(after, PAGE_ROWS);
        if (rows.length === 0) return;
        after = rows.at(-1)?.id as string;
        yield rows.map((r) => ({
          ...(r.deleted === 1 ? deletedPerson(r) : toPerson(r)),
          deleted: r.deleted === 1,
        }));
      }
    }
    if (table === "person_distinct_ids") {
      for (let after = ""; ; ) {
        const rows = q.pageIds.all(after, PAGE_ROWS);
        if (rows.length === 0) return;
        after = rows.at(-1)?.distinct_id as string;
        yield rows.map(toDistinctId);
      }
    }
    for (let after: [string, string] = ["", ""]; ; ) {
      const rows = q.pageGroups.all(after[0], after[1], PAGE_ROWS);
      if (rows.length === 0) return;
      const last = rows.at(-1) as Row;
      after = [last.group_type as string, last.group_key as string];
      yield rows.map(toGroup);
    }
  }

  async commit(until: LogPositions): Promise<void> {
    if (!this.#staged) {
      this.#q.setMeta.run("positions", JSON.stringify(until));
      return;
    }
    this.#synced(() => {
      if (this.#staged) this.#db.exec(APPLY_SQL);
      this.#db.exec(CLEAR_SQL);
      this.#q.setMeta.run("positions", JSON.stringify(until));
      this.#q.delMeta.run("prepared");
    });
    this.#staged = false;
  }

  async status() {
    const q = this.#q;
    const read = (key: string) => {
      const r = q.meta.get(key);
      return r ? (JSON.parse(r.value as string) as LogPositions) : null;
    };
    return {
      positions: read("positions") ?? {},
      prepared: read("prepared"),
      staged: q.anyPending.get()?.x === 1,
    };
  }

  async recover(committed: LogPositions): Promise<RecoverOutcome> {
    const s = await this.status();
    if (s.prepared && samePositions(s.prepared, committed)) {
      await this.commit(committed);
      return "applied";
    }
    const discard = s.prepared !== null || s.staged;
    const ahead = aheadOf(s.positions, committed);
    if (ahead.length > 0) {
      throw new FerryError(
        `the person store ${this.description} has applied events of log partition(s) ${ahead.join(", ")} beyond what the destination holds`,
        {
          hint: "the destination's events were removed or the store belongs to another destination: remove the store file to rebuild persons from the events that arrive from now on",
        },
      );
    }
    this.#synced(() => {
      this.#db.exec(CLEAR_SQL);
      this.#q.setMeta.run("positions", JSON.stringify(committed));
      this.#q.delMeta.run("prepared");
    });
    this.#staged = false;
    // The cache may hold what was just discarded.
    this.#ids.clear();
    this.#persons.clear();
    return discard ? "discarded" : "clean";
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  /** Runs `fn` in a transaction that is on disk (WAL synced) when it returns. */
  #synced(fn: () => void): void {
    this.#db.pragma("synchronous = FULL");
    try {
      this.#db.transaction(fn)();
    } finally {
      this.#db.pragma("synchronous = NORMAL");
    }
  }
}

/** The prepared statements of a store. */
function statements(db: Database.Database) {
  const p = (sql: string) => db.prepare<unknown[], Row>(sql);
  return {
    pendingId: p("SELECT distinct_id, person_id, version FROM pending_distinct_ids WHERE distinct_id = ?"),
    id: p("SELECT distinct_id, person_id, version FROM distinct_ids WHERE distinct_id = ?"),
    pendingPerson: p("SELECT * FROM pending_persons WHERE id = ?"),
    person: p("SELECT * FROM persons WHERE id = ?"),
    pendingPersonless: p("SELECT 1 AS x FROM pending_personless WHERE distinct_id = ?"),
    personless: p("SELECT 1 AS x FROM personless WHERE distinct_id = ?"),
    idsOf: p("SELECT distinct_id, person_id, version FROM distinct_ids WHERE person_id = ?"),
    pendingIdsOf: p("SELECT distinct_id, person_id, version FROM pending_distinct_ids WHERE person_id = ?"),
    pendingIdOf: p("SELECT person_id FROM pending_distinct_ids WHERE distinct_id = ?"),
    pendingGroup: p("SELECT * FROM pending_groups WHERE group_type = ? AND group_key = ?"),
    group: p("SELECT * FROM groups WHERE group_type = ? AND group_key = ?"),
    types: p(
      "SELECT group_type, idx FROM group_types UNION SELECT group_type, idx FROM pending_group_types ORDER BY idx",
    ),
    stagePerson: p(
      "INSERT OR REPLACE INTO pending_persons (id, properties, is_identified, created_at, version, deleted) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    stageId: p(
      "INSERT OR REPLACE INTO pending_distinct_ids (distinct_id, person_id, version) VALUES (?, ?, ?)",
    ),
    stagePersonless: p("INSERT OR IGNORE INTO pending_personless (distinct_id) VALUES (?)"),
    stageGroup: p(
      "INSERT OR REPLACE INTO pending_groups (group_type, group_key, properties, created_at, version) VALUES (?, ?, ?, ?, ?)",
    ),
    stageType: p("INSERT OR IGNORE INTO pending_group_types (group_type, idx) VALUES (?, ?)"),
    meta: p("SELECT value FROM meta WHERE key = ?"),
    setMeta: p("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"),
    delMeta: p("DELETE FROM meta WHERE key = ?"),
    anyPending: p(
      "SELECT EXISTS (SELECT 1 FROM pending_persons) OR EXISTS (SELECT 1 FROM pending_distinct_ids) OR EXISTS (SELECT 1 FROM pending_personless) OR EXISTS (SELECT 1 FROM pending_groups) OR EXISTS (SELECT 1 FROM pending_group_types) AS x",
    ),
    pagePersons: p("SELECT * FROM pending_persons WHERE id > ? ORDER BY id LIMIT ?"),
    pageIds: p("SELECT * FROM pending_distinct_ids WHERE distinct_id > ? ORDER BY distinct_id LIMIT ?"),
    pageGroups: p(
      "SELECT * FROM pending_groups WHERE (group_type, group_key) > (?, ?) ORDER BY group_type, group_key LIMIT ?",
    ),
  };
}

const deletedPerson = (r: Row): Person => ({
  id: r.id as string,
  properties: {},
  isIdentified: false,
  createdAt: new Date(0).toISOString(),
  version: r.version as number,
});

/** Pending changes over the applied state (one transaction, with CLEAR_SQL and the positions). */
const APPLY_SQL = `
DELETE FROM persons WHERE id IN (SELECT id FROM pending_persons WHERE deleted = 1);
INSERT OR REPLACE INTO persons (id, properties, is_identified, created_at, version)
  SELECT id, properties, is_identified, created_at, version FROM pending_persons WHERE deleted = 0;
INSERT OR REPLACE INTO distinct_ids (distinct_id, person_id, version)
  SELECT distinct_id, person_id, version FROM pending_distinct_ids;
INSERT OR IGNORE INTO personless (distinct_id) SELECT distinct_id FROM pending_personless;
INSERT OR REPLACE INTO groups (group_type, group_key, properties, created_at, version)
  SELECT group_type, group_key, properties, created_at, version FROM pending_groups;
INSERT OR IGNORE INTO group_types (group_type, idx) SELECT group_type, idx FROM pending_group_types;
`;

const CLEAR_SQL = `
DELETE FROM pending_persons; DELETE FROM pending_distinct_ids; DELETE FROM pending_personless;
DELETE FROM pending_groups; DELETE FROM pending_group_types;
`;
