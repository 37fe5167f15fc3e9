/**
 * A second floor for the events workload: DuckDB alone writing the tables ferry makes of the events file (root,
 * commits, labels: the same columns and types, 5.5 rows per record) straight from the NDJSON with hand-written SQL.
 * It checks nothing (an unknown key would be dropped, a changed type would fail), and it keys rows by the events' own
 * unique `id` instead of making ids (numbering the rows with `WITH ORDINALITY` doubles its time), so no engine that
 * writes this relational shape with DuckDB can be faster: it bounds what `events` and `parquet` can reach here.
 */

import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

const COMMIT = `STRUCT(sha VARCHAR, message VARCHAR, author STRUCT(name VARCHAR, email VARCHAR), "distinct" BOOLEAN)`;
const ROOT_COLUMNS = `{id: 'VARCHAR', type: 'VARCHAR', public: 'BOOLEAN', created_at: 'VARCHAR',
  actor: 'STRUCT(id BIGINT, login VARCHAR, avatar_url VARCHAR)',
  repo: 'STRUCT(id BIGINT, name VARCHAR, owner STRUCT(id BIGINT, type VARCHAR))',
  payload: 'STRUCT(push_id BIGINT, size BIGINT, ref VARCHAR, head VARCHAR, score JSON)',
  org: 'STRUCT(id BIGINT, login VARCHAR)'}`;

const source = (file: string, columns: string) =>
  `read_json(${quote(file)}, format = 'newline_delimited', columns = ${columns})`;

/** One SELECT per table ferry writes for the events scenario, with ferry's column names and types. */
export function eventsTablesSql(file: string): Record<string, string> {
  return {
    events: `SELECT 'r' || id AS _ferry_id, 'load' AS _ferry_load_id, id, type, public,
        created_at::TIMESTAMPTZ AS created_at, actor.id AS actor__id, actor.login AS actor__login,
        actor.avatar_url AS actor__avatar_url, repo.id AS repo__id, repo.name AS repo__name,
        repo.owner.id AS repo__owner__id, repo.owner.type AS repo__owner__type, payload.push_id AS payload__push_id,
        payload.size AS payload__size, payload.ref AS payload__ref, payload.head AS payload__head,
        CASE WHEN json_type(payload.score) = 'VARCHAR' THEN payload.score ->> '$'
             WHEN json_type(payload.score) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN payload.score::VARCHAR
        END AS payload__score,
        org.id AS org__id, org.login AS org__login,
        CASE WHEN json_type(payload.score) = 'OBJECT' THEN TRY_CAST(payload.score ->> 'raw' AS DOUBLE)
        END AS payload__score__raw
      FROM ${source(file, ROOT_COLUMNS)}`,
    events__payload__commits: `SELECT 'r' || id || '_' || (i - 1) AS _ferry_id,
        'r' || id AS _ferry_parent_id, i - 1 AS _ferry_list_idx, c.sha AS sha, c.message AS message,
        c.author.name AS author__name, c.author.email AS author__email, c."distinct" AS "distinct"
      FROM (SELECT id, unnest(payload.commits) AS c, generate_subscripts(payload.commits, 1) AS i
            FROM ${source(file, `{id: 'VARCHAR', payload: 'STRUCT(commits ${COMMIT}[])'}`)})`,
    events__labels: `SELECT 'r' || id || '_l' || (i - 1) AS _ferry_id, 'r' || id AS _ferry_parent_id,
        i - 1 AS _ferry_list_idx, v AS value
      FROM (SELECT id, unnest(labels) AS v, generate_subscripts(labels, 1) AS i
            FROM ${source(file, `{id: 'VARCHAR', labels: 'VARCHAR[]'}`)})`,
  };
}

/**
 * Times DuckDB writing the events tables from `file`: into tables of a new database file at `target.database`
 * (one transaction, as ferry loads), or as one Parquet file per table under `target.parquetDir`. Returns the
 * milliseconds and the rows written. DuckDB gets 1 GB here, more than ferry gives it: a floor must not be slowed
 * by memory.
 */
export async function relationalFloor(
  file: string,
  target: { database: string } | { parquetDir: string },
): Promise<{ ms: number; rows: number }> {
  const statements = (table: string, select: string): string[] =>
    "database" in target
      ? [`CREATE TABLE ${table} AS ${select} WITH NO DATA`, `INSERT INTO ${table} ${select}`]
      : [`COPY (${select}) TO ${quote(`${target.parquetDir}/${table}.parquet`)} (FORMAT parquet)`];
  return withDuckDb("database" in target ? target.database : ":memory:", async (conn) => {
    const started = Date.now();
    let rows = 0;
    await conn.run("BEGIN");
    for (const [table, select] of Object.entries(eventsTablesSql(file)))
      for (const sql of statements(table, select)) rows += Number((await conn.run(sql)).rowsChanged);
    await conn.run("COMMIT");
    return { ms: Date.now() - started, rows };
  });
}

/** Runs `work` on a connection to a DuckDB at `path` with 1 GB of memory and no insertion order kept. */
async function withDuckDb<T>(path: string, work: (conn: DuckDBConnection) => Promise<T>): Promise<T> {
  const db = await DuckDBInstance.create(path, { memory_limit: "1GB" });
  const conn = await db.connect();
  try {
    await conn.run("SET preserve_insertion_order = false");
    return await work(conn);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** The keys each object of an event may have, by where the object is (as DuckDB reads it: `r` is the record's map). */
const KNOWN_KEYS: [string, string[]][] = [
  ["map_keys(r)", ["id", "type", "public", "created_at", "actor", "repo", "payload", "labels", "org"]],
  ["json_keys(r['actor'])", ["id", "login", "avatar_url"]],
  ["json_keys(r['repo'])", ["id", "name", "owner"]],
  ["json_keys(r['repo'], '$.owner')", ["id", "type"]],
  ["json_keys(r['payload'])", ["push_id", "size", "ref", "head", "score", "commits"]],
  ["coalesce(json_keys(r['payload'], '$.score'), [])", ["raw"]],
  ["flatten(json_keys(r['payload'], '$.commits[*]'))", ["sha", "message", "author", "distinct"]],
  ["flatten(json_keys(r['payload'], '$.commits[*].author'))", ["name", "email"]],
  ["coalesce(json_keys(r['org']), [])", ["id", "login"]],
];

/**
 * Times the cheapest exact check found that every object of every record has only known keys (what a DuckDB-side
 * normalizer must do before trusting the SQL above, which drops unknown keys): records read as maps, one
 * `json_keys` per nested object. Throws if a record has an unknown key.
 */
export async function keyCheckFloor(file: string): Promise<{ ms: number }> {
  const checks = KNOWN_KEYS.map(([keys, known]) => `list_has_all([${known.map(quote).join(", ")}], ${keys})`);
  return withDuckDb(":memory:", async (conn) => {
    const started = Date.now();
    const reader = await conn.runAndReadAll(
      `SELECT count(*) FROM read_json(${quote(file)}, records = false, columns = {r: 'MAP(VARCHAR, JSON)'})
       WHERE NOT (${checks.join(" AND ")})`,
    );
    const ms = Date.now() - started;
    const unknown = Number(reader.getRows()[0]?.[0]);
    if (unknown !== 0) throw new Error(`${unknown} events have keys the key check does not know`);
    return { ms };
  });
}
