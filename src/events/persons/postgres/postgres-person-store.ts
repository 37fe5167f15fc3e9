import type pg from "pg";
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
import { applySql, clearSql, conflictSql, schemaSql } from "./postgres-schema.js";

const PAGE_ROWS = 2_000;
type Row = Record<string, unknown>;

const toPerson = (r: Row): Person => ({
  id: r.id as string,
  properties: r.properties as Record<string, unknown>,
  isIdentified: r.is_identified as boolean,
  createdAt: r.created_at as string,
  version: Number(r.version),
});
const toDistinctId = (r: Row): DistinctIdRow => ({
  distinctId: r.distinct_id as string,
  personId: r.person_id as string,
  version: Number(r.version),
});
const toGroup = (r: Row): Group => ({
  groupType: r.group_type as string,
  groupKey: r.group_key as string,
  properties: r.properties as Record<string, unknown>,
  createdAt: r.created_at as string,
  version: Number(r.version),
});

/** What a project's Postgres store shares with the others of its server: the pool, the schema, the server's name. */
export interface PostgresPersonStoreOptions {
  pool: pg.Pool;
  /** The schema, quoted for SQL. */
  schema: string;
  token: string;
  /** The server's name for its pending area and log positions (one per `ferry serve`). */
  consumer: string;
  description: string;
}

/**
 * The person store in Postgres, for several servers sharing persons (PostHog keeps persons in Postgres). Every project
 * and server shares one schema: applied tables keyed by token, pending areas keyed by token and server. Reads are
 * one query per page. Each pending row remembers the version it was based on: `prepare` refuses (and the batch is
 * processed again) when another server changed one of them meanwhile; between `prepare` and `commit` (one load) the
 * later writer wins.
 *
 * @example
 * const store = await PostgresPersonStore.open({ pool, schema: '"ferry_persons"', token, consumer, description });
 */
export class PostgresPersonStore implements PersonStore {
  readonly description: string;
  readonly #pool: pg.Pool;
  readonly #s: string;
  readonly #key: [string, string];
  /** Versions of the applied state that this page read, by key: the base of what it stages. */
  #base = new Map<string, number | null>();

  private constructor(o: PostgresPersonStoreOptions) {
    this.description = o.description;
    this.#pool = o.pool;
    this.#s = o.schema;
    this.#key = [o.token, o.consumer];
  }

  /** Creates the schema and tables when missing (one server at a time). */
  static async open(o: PostgresPersonStoreOptions): Promise<PostgresPersonStore> {
    const client = await o.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock(hashtext('ferry person store schema'))");
      await client.query(schemaSql(o.schema));
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    return new PostgresPersonStore(o);
  }

  async #q(sql: string, params: unknown[] = []): Promise<Row[]> {
    return (await this.#pool.query(sql, [...this.#key, ...params])).rows as Row[];
  }

  async lookup(distinctIds: readonly string[], personless: readonly string[]): Promise<PersonLookup> {
    const s = this.#s;
    const out: PersonLookup = { distinctIds: new Map(), persons: new Map(), personless: new Set() };
    if (distinctIds.length > 0) {
      const ids = await this.#q(
        `SELECT DISTINCT ON (distinct_id) distinct_id, person_id, version, pri FROM (
           SELECT distinct_id, person_id, version, 0 AS pri FROM ${s}.pending_distinct_ids
             WHERE token = $1 AND consumer = $2 AND distinct_id = ANY($3)
           UNION ALL SELECT distinct_id, person_id, version, 1 FROM ${s}.distinct_ids
             WHERE token = $1 AND distinct_id = ANY($3)) x ORDER BY distinct_id, pri`,
        [distinctIds],
      );
      for (const r of ids) {
        out.distinctIds.set(r.distinct_id as string, toDistinctId(r));
        if (r.pri === 1) this.#base.set(`d:${r.distinct_id}`, Number(r.version));
      }
      for (const p of await this.#persons([...new Set(ids.map((r) => r.person_id as string))]))
        out.persons.set(p.id, p);
    }
    if (personless.length > 0) {
      const rows = await this.#q(
        `SELECT distinct_id FROM ${s}.personless WHERE token = $1 AND distinct_id = ANY($3) AND $2::text IS NOT NULL
         UNION SELECT distinct_id FROM ${s}.pending_personless WHERE token = $1 AND consumer = $2 AND distinct_id = ANY($3)`,
        [personless],
      );
      for (const r of rows) out.personless.add(r.distinct_id as string);
    }
    return out;
  }

  async #persons(ids: string[]): Promise<Person[]> {
    if (ids.length === 0) return [];
    const s = this.#s;
    const rows = await this.#q(
      `SELECT DISTINCT ON (id) * FROM (
         SELECT id, properties, is_identified, created_at, version, deleted, 0 AS pri FROM ${s}.pending_persons
           WHERE token = $1 AND consumer = $2 AND id = ANY($3)
         UNION ALL SELECT id, properties, is_identified, created_at, version, false, 1 FROM ${s}.persons
           WHERE token = $1 AND id = ANY($3)) x ORDER BY id, pri`,
      [ids],
    );
    for (const r of rows) if (r.pri === 1) this.#base.set(`p:${r.id}`, Number(r.version));
    return rows.filter((r) => !r.deleted).map(toPerson);
  }

  async distinctIdsOf(personId: string): Promise<DistinctIdRow[]> {
    const s = this.#s;
    const rows = await this.#q(
      `SELECT DISTINCT ON (distinct_id) distinct_id, person_id, version, pri FROM (
         SELECT distinct_id, person_id, version, 0 AS pri FROM ${s}.pending_distinct_ids
           WHERE token = $1 AND consumer = $2 AND (person_id = $3 OR distinct_id IN (
             SELECT distinct_id FROM ${s}.distinct_ids WHERE token = $1 AND person_id = $3))
         UNION ALL SELECT distinct_id, person_id, version, 1 FROM ${s}.distinct_ids WHERE token = $1 AND person_id = $3
       ) x ORDER BY distinct_id, pri`,
      [personId],
    );
    const out: DistinctIdRow[] = [];
    for (const r of rows) {
      if (r.person_id !== personId) continue; // moved to another person by this batch
      if (r.pri === 1) this.#base.set(`d:${r.distinct_id}`, Number(r.version));
      out.push(toDistinctId(r));
    }
    return out;
  }

  async groups(keys: ReadonlyArray<{ groupType: string; groupKey: string }>) {
    const s = this.#s;
    const groups = new Map<string, Group>();
    if (keys.length > 0) {
      const rows = await this.#q(
        `SELECT DISTINCT ON (group_type, group_key) * FROM (
           SELECT group_type, group_key, properties, created_at, version, 0 AS pri FROM ${s}.pending_groups
             WHERE token = $1 AND consumer = $2 AND (group_type, group_key) IN (SELECT * FROM unnest($3::text[], $4::text[]))
           UNION ALL SELECT group_type, group_key, properties, created_at, version, 1 FROM ${s}.groups
             WHERE token = $1 AND (group_type, group_key) IN (SELECT * FROM unnest($3::text[], $4::text[]))
         ) x ORDER BY group_type, group_key, pri`,
        [keys.map((k) => k.groupType), keys.map((k) => k.groupKey)],
      );
      for (const r of rows) {
        const key = groupKeyOf(r.group_type as string, r.group_key as string);
        if (r.pri === 1) this.#base.set(`g:${key}`, Number(r.version));
        groups.set(key, toGroup(r));
      }
    }
    const types = new Map<string, number>();
    const rows = await this.#q(
      `SELECT group_type, idx FROM ${s}.group_types WHERE token = $1 AND $2::text IS NOT NULL
       UNION SELECT group_type, idx FROM ${s}.pending_group_types WHERE token = $1 AND consumer = $2 ORDER BY idx`,
    );
    for (const r of rows) types.set(r.group_type as string, r.idx as number);
    return { groups, types };
  }

  async stage(c: PersonChanges): Promise<void> {
    const any =
      c.persons.length +
      c.deletedPersons.length +
      c.distinctIds.length +
      c.personless.length +
      c.groups.length +
      c.groupTypes.length;
    if (any === 0) return;
    const s = this.#s;
    const base = (k: string) => this.#base.get(k) ?? null;
    const persons = [
      ...c.persons.map((p) => ({ ...p, deleted: false })),
      ...c.deletedPersons.map((d) => ({
        id: d.id,
        properties: {},
        isIdentified: false,
        createdAt: "",
        version: d.version,
        deleted: true,
      })),
    ];
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      const q = (sql: string, params: unknown[]) => client.query(sql, [...this.#key, ...params]);
      if (persons.length > 0)
        await q(
          `INSERT INTO ${s}.pending_persons (token, consumer, id, properties, is_identified, created_at, version, deleted, base_version)
           SELECT $1, $2, * FROM unnest($3::text[], $4::jsonb[], $5::bool[], $6::text[], $7::bigint[], $8::bool[], $9::bigint[])
           ON CONFLICT (token, consumer, id) DO UPDATE SET properties = EXCLUDED.properties,
             is_identified = EXCLUDED.is_identified, created_at = EXCLUDED.created_at, version = EXCLUDED.version,
             deleted = EXCLUDED.deleted`,
          [
            persons.map((p) => p.id),
            persons.map((p) => JSON.stringify(p.properties)),
            persons.map((p) => p.isIdentified),
            persons.map((p) => p.createdAt),
            persons.map((p) => p.version),
            persons.map((p) => p.deleted),
            persons.map((p) => base(`p:${p.id}`)),
          ],
        );
      if (c.distinctIds.length > 0)
        await q(
          `INSERT INTO ${s}.pending_distinct_ids (token, consumer, distinct_id, person_id, version, base_version)
           SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[])
           ON CONFLICT (token, consumer, distinct_id) DO UPDATE SET person_id = EXCLUDED.person_id, version = EXCLUDED.version`,
          [
            c.distinctIds.map((d) => d.distinctId),
            c.distinctIds.map((d) => d.personId),
            c.distinctIds.map((d) => d.version),
            c.distinctIds.map((d) => base(`d:${d.distinctId}`)),
          ],
        );
      if (c.personless.length > 0)
        await q(
          `INSERT INTO ${s}.pending_personless (token, consumer, distinct_id) SELECT $1, $2, * FROM unnest($3::text[])
           ON CONFLICT DO NOTHING`,
          [c.personless],
        );
      if (c.groups.length > 0)
        await q(
          `INSERT INTO ${s}.pending_groups (token, consumer, group_type, group_key, properties, created_at, version, base_version)
           SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::jsonb[], $6::text[], $7::bigint[], $8::bigint[])
           ON CONFLICT (token, consumer, group_type, group_key) DO UPDATE SET properties = EXCLUDED.properties,
             created_at = EXCLUDED.created_at, version = EXCLUDED.version`,
          [
            c.groups.map((g) => g.groupType),
            c.groups.map((g) => g.groupKey),
            c.groups.map((g) => JSON.stringify(g.properties)),
            c.groups.map((g) => g.createdAt),
            c.groups.map((g) => g.version),
            c.groups.map((g) => base(`g:${groupKeyOf(g.groupType, g.groupKey)}`)),
          ],
        );
      if (c.groupTypes.length > 0)
        await q(
          `INSERT INTO ${s}.pending_group_types (token, consumer, group_type, idx) SELECT $1, $2, * FROM unnest($3::text[], $4::int[])
           ON CONFLICT DO NOTHING`,
          [c.groupTypes.map((t) => t.groupType), c.groupTypes.map((t) => t.index)],
        );
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    this.#base.clear();
  }

  async prepare(until: LogPositions): Promise<void> {
    const [{ n } = { n: 0 }] = await this.#q(conflictSql(this.#s));
    if (Number(n) > 0) {
      await this.#transaction(clearSql(this.#s));
      throw new FerryError(
        `${n} person(s), distinct id(s) or group(s) were changed by another server while this batch was processed; the batch is processed again`,
      );
    }
    await this.#q(
      `INSERT INTO ${this.#s}.batches (token, consumer, positions, prepared) VALUES ($1, $2, '{}', $3)
       ON CONFLICT (token, consumer) DO UPDATE SET prepared = EXCLUDED.prepared`,
      [JSON.stringify(until)],
    );
  }

  pending(table: "persons"): AsyncIterable<PendingPerson[]>;
  pending(table: "person_distinct_ids"): AsyncIterable<DistinctIdRow[]>;
  pending(table: "groups"): AsyncIterable<Group[]>;
  async *pending(
    table: "persons" | "person_distinct_ids" | "groups",
  ): AsyncIterable<PendingPerson[] | DistinctIdRow[] | Group[]> {
    const s = this.#s;
    const mine = "token = $1 AND consumer = $2";
    if (table === "persons") {
      for (let after = ""; ; ) {
        const rows = await this.#q(
          `SELECT * FROM ${s}.pending_persons WHERE ${mine} AND id > $3 ORDER BY id LIMIT ${PAGE_ROWS}`,
          [after],
        );
        if (rows.length === 0) return;
        after = rows.at(-1)?.id as string;
        yield rows.map((r) => ({ ...toPerson(r), deleted: r.deleted as boolean }));
      }
    }
    if (table === "person_distinct_ids") {
      for (let after = ""; ; ) {
        const rows = await this.#q(
          `SELECT * FROM ${s}.pending_distinct_ids WHERE ${mine} AND distinct_id > $3 ORDER BY distinct_id LIMIT ${PAGE_ROWS}`,
          [after],
        );
        if (rows.length === 0) return;
        after = rows.at(-1)?.distinct_id as string;
        yield rows.map(toDistinctId);
      }
    }
    for (let after = ["", ""]; ; ) {
      const rows = await this.#q(
        `SELECT * FROM ${s}.pending_groups WHERE ${mine} AND (group_type, group_key) > ($3, $4)
         ORDER BY group_type, group_key LIMIT ${PAGE_ROWS}`,
        after,
      );
      if (rows.length === 0) return;
      const last = rows.at(-1) as Row;
      after = [last.group_type as string, last.group_key as string];
      yield rows.map(toGroup);
    }
  }

  async commit(until: LogPositions): Promise<void> {
    await this.#transaction([...applySql(this.#s), ...clearSql(this.#s)], until);
  }

  async status() {
    const s = this.#s;
    const [b] = await this.#q(
      `SELECT positions, prepared FROM ${s}.batches WHERE token = $1 AND consumer = $2`,
    );
    const [any] = await this.#q(
      [
        "pending_persons",
        "pending_distinct_ids",
        "pending_personless",
        "pending_groups",
        "pending_group_types",
      ]
        .map((t) => `SELECT 1 AS x FROM ${s}.${t} WHERE token = $1 AND consumer = $2`)
        .join(" UNION ALL ")
        .concat(" LIMIT 1"),
    );
    return {
      positions: (b?.positions as LogPositions | undefined) ?? {},
      prepared: (b?.prepared as LogPositions | null | undefined) ?? null,
      staged: any !== undefined,
    };
  }

  async recover(committed: LogPositions): Promise<RecoverOutcome> {
    const st = await this.status();
    if (st.prepared && samePositions(st.prepared, committed)) {
      await this.commit(committed);
      return "applied";
    }
    const ahead = aheadOf(st.positions, committed);
    if (ahead.length > 0) {
      throw new FerryError(
        `the person store ${this.description} has applied events of log partition(s) ${ahead.join(", ")} beyond what the destination holds`,
        {
          hint: "the destination's events were removed or the store belongs to another destination: drop this server's rows of the store's batches table to go on from the destination's events",
        },
      );
    }
    await this.#transaction(clearSql(this.#s), committed);
    return st.prepared !== null || st.staged ? "discarded" : "clean";
  }

  async close(): Promise<void> {
    // The pool is shared by the server's projects: its owner ends it.
  }

  /** Runs statements (params: token, consumer) in one transaction; with `positions`, records them as applied. */
  async #transaction(statements: string[], positions?: LogPositions): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      for (const sql of statements) await client.query(sql, this.#key);
      if (positions)
        await client.query(
          `INSERT INTO ${this.#s}.batches (token, consumer, positions, prepared) VALUES ($1, $2, $3, NULL)
           ON CONFLICT (token, consumer) DO UPDATE SET positions = EXCLUDED.positions, prepared = NULL`,
          [...this.#key, JSON.stringify(positions)],
        );
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
    this.#base.clear();
  }
}
