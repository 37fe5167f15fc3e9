/**
 * A stand-in for a modern ClickHouse server in the tests: ClickHouse's engine as npm's `chdb` embeds it (26.7, the
 * same SQL, types and MergeTree tables as the server), behind the subset of ClickHouse's HTTP interface that
 * `@clickhouse/client` speaks. There is no modern ClickHouse server package on this machine (Debian's is 18.16), so
 * the tests of the modern engine go through this endpoint; the HTTP layer is ours, everything below it is ClickHouse.
 *
 *   node --import tsx test/helpers/chdb-http-server.ts --port 58125 --data DIR --chdb DIR/node_modules/chdb \
 *     [--user ferry --password ferry] [--pid FILE]
 *
 * What it speaks: `GET /ping`; `POST /?query=...` with the body as the rest of the query (INSERT data), or the body
 * as the query; Basic auth, `X-ClickHouse-User`/`-Key` or `user`/`password` parameters (also user `default` without
 * a password); `database` and `default_format` parameters; other parameters as settings (in an INSERT's SETTINGS
 * clause, else `SET` on a connection kept per database and settings); a gzip request body; errors as ClickHouse
 * answers them (`Code: N. DB::Exception: ...`, `X-ClickHouse-Exception-Code`, 4xx/5xx). Statements run one at a time.
 */
import { writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";

interface ChdbResult {
  bytes(): Uint8Array;
}
interface ChdbSession {
  connection: unknown;
  queryAsync(sql: string, opts: { format: string }): Promise<ChdbResult>;
  close(): void;
}
interface ChdbModule {
  Session: new (path: string) => ChdbSession;
}
interface ChdbNative {
  InsertRawAsyncConnection(
    conn: unknown,
    prefix: string,
    data: Buffer,
    countLines: boolean,
  ): Promise<{ rowsWritten: number; bytesWritten: number }>;
}

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]?.replace(/^--/, "") ?? "", process.argv[i + 1] ?? "");
const port = Number(args.get("port") ?? 58125);
const dataDir = args.get("data") ?? "/tmp/ferry-chdb-data";
const chdbDir = args.get("chdb") ?? "";
const users = new Map([
  ["default", ""],
  [args.get("user") ?? "ferry", args.get("password") ?? "ferry"],
]);

const load = createRequire(join(chdbDir, "package.json"));
const chdb = load("./index.js") as ChdbModule;
const native = (load("./dist/loader.js") as { loadNative(): ChdbNative }).loadNative();
const main = new chdb.Session(dataDir);
const [version] = new TextDecoder()
  .decode((await main.queryAsync("SELECT version()", { format: "TSV" })).bytes())
  .split("\n");

/** Parameters of the HTTP interface that are not settings. */
const NOT_SETTINGS = new Set([
  "query",
  "database",
  "default_format",
  "user",
  "password",
  "query_id",
  "session_id",
  "session_timeout",
  "session_check",
  "compress",
  "decompress",
  "enable_http_compression",
  "wait_end_of_query",
  "buffer_size",
  "quota_key",
  "role",
  "add_http_cors_header",
]);

/** Connections by database and settings (a `SET` lasts for a connection). */
const sessions = new Map<string, ChdbSession>();
let queue: Promise<unknown> = Promise.resolve();
/** Runs one statement at a time, as the embedded engine wants. */
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn, fn);
  queue = next.catch(() => undefined);
  return next;
}

const literal = (v: string) => `'${v.replace(/[\\']/g, (c) => `\\${c}`)}'`;
const ident = (v: string) => `\`${v.replace(/[\\`]/g, (c) => `\\${c}`)}\``;

async function sessionFor(database: string, settings: Array<[string, string]>): Promise<ChdbSession> {
  const key = JSON.stringify([database, settings]);
  let s = sessions.get(key);
  if (!s) {
    s = new chdb.Session(dataDir);
    const setup = [
      ...(database !== "default" ? [`USE ${ident(database)}`] : []),
      ...settings.map(([k, v]) => `SET ${k} = ${/^-?\d+(\.\d+)?$/.test(v) ? v : literal(v)}`),
    ];
    for (const sql of setup) await s.queryAsync(sql, { format: "TSV" });
    sessions.set(key, s);
  }
  return s;
}

/** `INSERT INTO ... FORMAT <name>` and the data after it, when the statement is an insert with inline data. */
function splitInsert(full: Buffer): { prefix: string; data: Buffer } | undefined {
  const head = full.subarray(0, Math.min(full.length, 64 * 1024)).toString("latin1");
  if (!/^\s*INSERT\s/i.test(head)) return undefined;
  const m = /\sFORMAT\s+([A-Za-z0-9_]+)[ \t]*\r?\n?/i.exec(head);
  if (!m) return undefined;
  const end = m.index + m[0].length;
  return {
    prefix: Buffer.from(head.slice(0, m.index + m[0].trimEnd().length), "latin1").toString("utf8"),
    data: full.subarray(end),
  };
}

function credentials(req: IncomingMessage, params: URLSearchParams): [string, string] {
  const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? "");
  if (basic) {
    const text = Buffer.from(basic[1] ?? "", "base64").toString("utf8");
    const at = text.indexOf(":");
    return [text.slice(0, at), text.slice(at + 1)];
  }
  const user = (req.headers["x-clickhouse-user"] as string | undefined) ?? params.get("user") ?? "default";
  return [user, (req.headers["x-clickhouse-key"] as string | undefined) ?? params.get("password") ?? ""];
}

/** ClickHouse's HTTP status of an error code. */
function statusOf(code: number): number {
  if (code === 516 || code === 192 || code === 193 || code === 194) return 403;
  if (code === 60 || code === 81) return 404;
  if (code === 62 || code === 27 || code === 26 || code === 117 || code === 36 || code === 47 || code === 46)
    return 400;
  return 500;
}

function fail(res: ServerResponse, code: number, message: string): void {
  const text = /^Code: \d+\./.test(message) ? message : `Code: ${code}. DB::Exception: ${message}`;
  res.writeHead(statusOf(code), {
    "Content-Type": "text/plain; charset=UTF-8",
    "X-ClickHouse-Exception-Code": String(code),
    "X-ClickHouse-Server-Display-Name": "chdb-http",
  });
  res.end(`${text} (version ${version})\n`);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (
    url.pathname === "/ping" ||
    (url.pathname === "/" && req.method === "GET" && !url.searchParams.has("query"))
  ) {
    res.writeHead(200, { "Content-Type": "text/html; charset=UTF-8" });
    res.end("Ok.\n");
    return;
  }
  const params = url.searchParams;
  const [user, password] = credentials(req, params);
  const body = await readBody(req);
  if (users.get(user) !== password) {
    fail(
      res,
      516,
      `${user}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)`,
    );
    return;
  }
  const query = params.get("query");
  const full =
    query !== null ? Buffer.concat([Buffer.from(`${query}${body.length > 0 ? "\n" : ""}`), body]) : body;
  const database = params.get("database") ?? "default";
  const settings = [...params].filter(([k]) => !NOT_SETTINGS.has(k) && !k.startsWith("param_"));
  const format = params.get("default_format") ?? "TabSeparated";
  const queryId = params.get("query_id") ?? crypto.randomUUID();
  const started = process.hrtime.bigint();
  try {
    const insert = splitInsert(full);
    const out = await serial(async () => {
      if (insert) {
        const clause = settings.map(([k, v]) => `${k} = ${/^-?\d+$/.test(v) ? v : literal(v)}`).join(", ");
        const prefix = clause
          ? insert.prefix.replace(/\sFORMAT\s/i, ` SETTINGS ${clause} FORMAT `)
          : insert.prefix;
        const session = await sessionFor(database, []);
        const r = await native.InsertRawAsyncConnection(session.connection, prefix, insert.data, true);
        return { bytes: Buffer.alloc(0), written: r.rowsWritten };
      }
      const session = await sessionFor(database, settings);
      const r = await session.queryAsync(full.toString("utf8"), { format });
      return { bytes: Buffer.from(r.bytes()), written: 0 };
    });
    res.writeHead(200, {
      "Content-Type": "text/tab-separated-values; charset=UTF-8",
      "X-ClickHouse-Query-Id": queryId,
      "X-ClickHouse-Format": format,
      "X-ClickHouse-Timezone": "UTC",
      "X-ClickHouse-Server-Display-Name": "chdb-http",
      "X-ClickHouse-Summary": JSON.stringify({
        read_rows: "0",
        read_bytes: "0",
        written_rows: String(out.written),
        written_bytes: "0",
        total_rows_to_read: "0",
        result_rows: "0",
        result_bytes: String(out.bytes.length),
        elapsed_ns: String(process.hrtime.bigint() - started),
      }),
    });
    res.end(out.bytes);
  } catch (err) {
    const e = err as { message?: string; clickhouseCode?: number };
    const message = String(e.message ?? err);
    fail(res, e.clickhouseCode ?? Number(/Code: (\d+)/.exec(message)?.[1] ?? 1000), message.trim());
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    if (!res.headersSent) fail(res, 1000, String((err as Error)?.message ?? err));
    else res.destroy();
  });
});
server.keepAliveTimeout = 10_000;
server.listen(port, "127.0.0.1", () => {
  if (args.get("pid")) writeFileSync(args.get("pid") as string, `${process.pid}\n`);
  process.stdout.write(`chdb-http: ClickHouse ${version} (chdb) on http://127.0.0.1:${port}\n`);
});

function shutdown(): void {
  server.close();
  for (const s of sessions.values()) s.close();
  main.close();
  process.exit(0);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
