import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { FerryError } from "../../../util/errors.js";
import type { LogPositions } from "../../log/event-log.js";
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
import { migrateToCurrent } from "./sqlite-migrate.js";
import { FORGET_UNDO_SQL, SCHEMA_SQL, undoSql } from "./sqlite-schema.js";
import { type Row, type Statements, statements } from "./sqlite-statements.js";

/** Pending rows are handed to the destination this many at a time. */
const PAGE_ROWS = 2_000;

/**
 * Pages of the WAL written before SQLite copies them into the database file (4 KB each). Larger than SQLite's 1,000:
 * a page that several batches change in a row is copied once.
 */
const WAL_CHECKPOINT_PAGES = 4_000;

const toPerson = (r: Row): Person => ({
  id: r.id as string,
  properties: JSON.parse(r.properties as string),
  isIdentified: r.is_identified === 1,
  createdAt: r.created_at as string,
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
 * by one server at a time (exclusive lock). Persons live on disk; SQLite's page cache (32 MB) is its only cache and
 * a page's persons (by the row numbers its reads found) its only other state, so memory does not grow with the number
 * of persons. (A cache of recent rows in JS cost more than it saved: new ids miss it, and SQLite finds a cached row
 * in a few microseconds.)
 *
 * A batch's changes are written once, straight into the tables, inside one SQLite transaction that stays open from
 * the batch's first change until `prepare`: a crash before that leaves nothing of the batch on disk. Each row carries
 * the number of the batch that wrote it, and the rows a batch changed are copied into undo tables the first time it
 * changes them, so that a prepared batch the destination did not commit can be undone (`recover`). `commit` only
 * records the positions and forgets the undo copies.
 *
 * @example
 * const store = SqlitePersonStore.open("/srv/.ferry/_serve/persons/posthog.sqlite");
 */
export class SqlitePersonStore implements PersonStore {
  readonly description: string;
  readonly #db: Database.Database;
  readonly #q: Statements;
  /** The number of the last batch applied; the batch in progress (or prepared) is the next one. */
  #applied: number;
  /** A batch's write transaction is open (changes staged, not prepared). */
  #writing = false;
  /** A batch is prepared: its changes are durable and wait for `commit` or `recover`. */
  #prepared: boolean;
  /**
   * Row numbers of the persons the current page read (by person id): the persons a page stages are ones it read, or
   * new ones. Emptied when the page's changes are staged.
   */
  readonly #page = new Map<string, number>();

  private constructor(path: string, db: Database.Database) {
    this.description = `sqlite:${path}`;
    this.#db = db;
    this.#q = statements(db);
    this.#applied = Number(this.#meta("batch") ?? 0);
    this.#prepared = this.#meta("prepared") !== undefined;
  }

  /** Opens (creating) the store at `path`; refuses a file another server holds. */
  static open(path: string): SqlitePersonStore {
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path, { timeout: 0 });
    try {
      db.pragma("locking_mode = EXCLUSIVE");
      db.pragma("journal_mode = WAL");
      // Two commits per batch (prepare, commit), each on disk when it returns.
      db.pragma("synchronous = FULL");
      db.pragma("cache_size = -32768");
      db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
      db.pragma(`journal_size_limit = ${64 * 2 ** 20}`);
      migrateToCurrent(db, path);
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

  /** The batch being written or prepared. */
  get #batch(): number {
    return this.#applied + 1;
  }

  async lookup(distinctIds: readonly string[], personless: readonly string[]): Promise<PersonLookup> {
    const q = this.#q;
    const out: PersonLookup = { distinctIds: new Map(), persons: new Map(), personless: new Set() };
    for (const id of distinctIds) {
      // The id and its person in one query (the person by row number). An id whose person is gone counts as one
      // without a person (it gets a new one).
      const r = q.lookup.get(id);
      if (!r || r.id === null || r.deleted !== 0) continue;
      const personId = r.id as string;
      out.distinctIds.set(id, { distinctId: id, personId, version: r.dversion as number });
      if (!out.persons.has(personId)) out.persons.set(personId, toPerson(r));
      this.#page.set(personId, r.pk as number);
    }
    for (const id of personless) if (q.personless.get(id)) out.personless.add(id);
    return out;
  }

  async distinctIdsOf(personId: string): Promise<DistinctIdRow[]> {
    const pk = this.#page.get(personId);
    // A person the page did not read is one it created: the store has none of its ids yet.
    if (pk === undefined) return [];
    return this.#q.idsOf
      .all(pk)
      .map((r) => ({ distinctId: r.distinct_id as string, personId, version: r.version as number }));
  }

  /** The row number of a person the current page read or wrote. */
  #pkOf(personId: string): number {
    const pk = this.#page.get(personId);
    if (pk === undefined) {
      throw new FerryError(
        `persons: a distinct id was given person ${personId}, which the page neither read nor created (a page reads its persons with lookup first)`,
      );
    }
    return pk;
  }

  async groups(keys: ReadonlyArray<{ groupType: string; groupKey: string }>) {
    const q = this.#q;
    const groups = new Map<string, Group>();
    for (const { groupType, groupKey } of keys) {
      const r = q.group.get(groupType, groupKey);
      if (r) groups.set(groupKeyOf(groupType, groupKey), toGroup(r));
    }
    const types = new Map<string, number>();
    for (const r of q.types.all()) types.set(r.group_type as string, r.idx as number);
    return { groups, types };
  }

  async stage(c: PersonChanges): Promise<void> {
    const q = this.#q;
    try {
      const any =
        c.persons.length +
        c.deletedPersons.length +
        c.distinctIds.length +
        c.personless.length +
        c.groups.length +
        c.groupTypes.length;
      if (any === 0) return;
      if (this.#prepared) {
        throw new FerryError(
          "persons: a batch is prepared and waits for the destination; it is applied or undone before the next one",
        );
      }
      if (!this.#writing) {
        this.#db.exec("BEGIN IMMEDIATE");
        this.#writing = true;
      }
      const batch = this.#batch;
      for (const p of c.persons) {
        const props = JSON.stringify(p.properties);
        const identified = p.isIdentified ? 1 : 0;
        let pk = this.#page.get(p.id);
        if (pk === undefined) {
          pk = Number(
            q.insertPerson.run(p.id, props, identified, p.createdAt, p.version, batch).lastInsertRowid,
          );
          this.#page.set(p.id, pk);
        } else {
          q.savePerson.run(pk, batch);
          q.updatePerson.run(props, identified, p.createdAt, p.version, batch, pk);
        }
      }
      for (const d of c.deletedPersons) {
        const pk = this.#page.get(d.id);
        // Created and merged away by the same page: never stored, nothing to delete.
        if (pk === undefined) continue;
        q.savePerson.run(pk, batch);
        q.deletePerson.run(d.version, batch, pk);
      }
      for (const d of c.distinctIds) {
        const pk = this.#pkOf(d.personId);
        q.saveId.run(d.distinctId, batch);
        q.upsertId.run(d.distinctId, pk, d.version, batch);
      }
      for (const id of c.personless) q.addPersonless.run(id, batch);
      for (const g of c.groups) {
        q.saveGroup.run(g.groupType, g.groupKey, batch);
        q.upsertGroup.run(
          g.groupType,
          g.groupKey,
          JSON.stringify(g.properties),
          g.createdAt,
          g.version,
          batch,
        );
      }
      for (const t of c.groupTypes) q.addType.run(t.groupType, t.index, batch);
    } finally {
      this.#page.clear();
    }
  }

  async prepare(until: LogPositions): Promise<void> {
    // Nothing staged, nothing to undo: a crash after the destination commits only leaves positions behind.
    if (!this.#writing) return;
    this.#q.setMeta.run("prepared", JSON.stringify(until));
    this.#db.exec("COMMIT");
    this.#writing = false;
    this.#prepared = true;
  }

  pending(table: "persons"): AsyncIterable<PendingPerson[]>;
  pending(table: "person_distinct_ids"): AsyncIterable<DistinctIdRow[]>;
  pending(table: "groups"): AsyncIterable<Group[]>;
  async *pending(
    table: "persons" | "person_distinct_ids" | "groups",
  ): AsyncIterable<PendingPerson[] | DistinctIdRow[] | Group[]> {
    const q = this.#q;
    if (!this.#prepared) return;
    const batch = this.#batch;
    if (table === "persons") {
      for (let after = 0; ; ) {
        const rows = q.pagePersons.all(batch, after, PAGE_ROWS);
        if (rows.length === 0) return;
        after = rows.at(-1)?.pk as number;
        yield rows.map((r) => ({
          ...(r.deleted === 1 ? deletedPerson(r) : toPerson(r)),
          deleted: r.deleted === 1,
        }));
      }
    }
    if (table === "person_distinct_ids") {
      for (let after = ""; ; ) {
        const rows = q.pageIds.all(batch, after, PAGE_ROWS);
        if (rows.length === 0) return;
        after = rows.at(-1)?.distinct_id as string;
        yield rows.map((r) => ({
          distinctId: r.distinct_id as string,
          personId: r.person_id as string,
          version: r.version as number,
        }));
      }
    }
    for (let after: [string, string] = ["", ""]; ; ) {
      const rows = q.pageGroups.all(batch, after[0], after[1], PAGE_ROWS);
      if (rows.length === 0) return;
      const last = rows.at(-1) as Row;
      after = [last.group_type as string, last.group_key as string];
      yield rows.map(toGroup);
    }
  }

  async commit(until: LogPositions): Promise<void> {
    // The destination holds the batch: changes staged and not prepared (nothing asked for them) are its too.
    if (this.#writing) await this.prepare(until);
    const q = this.#q;
    if (!this.#prepared) {
      q.setMeta.run("positions", JSON.stringify(until));
      return;
    }
    const batch = this.#batch;
    this.#db.transaction(() => {
      q.purgeDeleted.run(batch);
      this.#db.exec(FORGET_UNDO_SQL);
      q.setMeta.run("positions", JSON.stringify(until));
      q.setMeta.run("batch", String(batch));
      q.delMeta.run("prepared");
    })();
    this.#applied = batch;
    this.#prepared = false;
  }

  async status() {
    const read = (key: string) => {
      const v = this.#meta(key);
      return v === undefined ? null : (JSON.parse(v) as LogPositions);
    };
    return { positions: read("positions") ?? {}, prepared: read("prepared"), staged: this.#writing };
  }

  async recover(committed: LogPositions): Promise<RecoverOutcome> {
    const staged = this.#writing;
    if (staged) this.#rollback();
    const s = await this.status();
    if (s.prepared && samePositions(s.prepared, committed)) {
      await this.commit(committed);
      return "applied";
    }
    const ahead = aheadOf(s.positions, committed);
    if (ahead.length > 0) {
      throw new FerryError(
        `the person store ${this.description} has applied events of log partition(s) ${ahead.join(", ")} beyond what the destination holds`,
        {
          hint: "the destination's events were removed or the store belongs to another destination: remove the store file to rebuild persons from the events that arrive from now on",
        },
      );
    }
    const q = this.#q;
    const prepared = this.#prepared;
    this.#db.transaction(() => {
      if (prepared) this.#db.exec(undoSql(this.#batch));
      q.setMeta.run("positions", JSON.stringify(committed));
      q.delMeta.run("prepared");
    })();
    this.#prepared = false;
    return prepared || staged ? "discarded" : "clean";
  }

  async close(): Promise<void> {
    if (!this.#db.open) return;
    // Changes never prepared are not kept (as after a crash).
    if (this.#writing) this.#rollback();
    this.#db.close();
  }

  #rollback(): void {
    if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
    this.#writing = false;
    this.#page.clear();
  }

  #meta(key: string): string | undefined {
    return this.#q.meta.get(key)?.value as string | undefined;
  }
}

const deletedPerson = (r: Row): Person => ({
  id: r.id as string,
  properties: {},
  isIdentified: false,
  createdAt: new Date(0).toISOString(),
  version: r.version as number,
});
