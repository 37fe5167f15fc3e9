import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { copyTextChunks, copyTextField, rawField } from "../../../src/destinations/postgres/copy-text.js";
import {
  isTransientPostgresError,
  withServerContext,
} from "../../../src/destinations/postgres/postgres-errors.js";
import { parsePostgresUrl } from "../../../src/destinations/postgres/postgres-url.js";
import { type Column, DestinationError } from "../../../src/index.js";

// No server needed: how load-file lines become COPY text rows, and which errors are worth a retry.

async function rowsOf(lines: string[], columns: Column[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "ferry-"));
  try {
    const path = join(dir, "t.jsonl");
    writeFileSync(path, `${lines.join("\n")}\n`);
    let out = "";
    for await (const chunk of copyTextChunks({ path, table: "t", job: "t.0000.jsonl" }, columns))
      out += chunk;
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("postgres COPY text encoding", () => {
  test("fields escape backslash, newline, carriage return and tab; nothing else changes", () => {
    assert.equal(copyTextField("plain, \"quoted\" 'x' ü 🚀"), "plain, \"quoted\" 'x' ü 🚀");
    assert.equal(copyTextField("a\\b\nc\rd\te"), "a\\\\b\\nc\\rd\\te");
    assert.equal(copyTextField("\\N"), "\\\\N");
    assert.equal(copyTextField(""), "");
  });

  test("rawField reads a top-level number exactly, not a nested key of the same name", () => {
    const line = '{"doc":{"big":1,"s":"\\"big\\":2"},"big":9223372036854775807,"x":"}"}';
    assert.equal(rawField(line, "big"), "9223372036854775807");
    assert.equal(rawField(line, "x"), '"}"');
    assert.equal(rawField(line, "doc"), '{"big":1,"s":"\\"big\\":2"}');
    assert.equal(rawField(line, "missing"), undefined);
  });

  test("rows: typed values, NULL for null and missing fields, object-property column names read as own fields", async () => {
    const columns: Column[] = [
      { name: "id", type: "bigint" },
      { name: "constructor", type: "text" },
      { name: "doc", type: "json" },
      { name: "bin", type: "binary" },
      { name: "ok", type: "bool" },
      { name: "f", type: "double" },
    ];
    const out = await rowsOf(
      [
        '{"id":9007199254740993,"constructor":"c\\td","doc":{"a":"x\\\\y"},"bin":"AFz/","ok":true,"f":"NaN"}',
        '{"id":-1,"doc":null,"ok":false,"f":1e+300}',
      ],
      columns,
    );
    assert.equal(
      out,
      '9007199254740993\tc\\td\t{"a":"x\\\\\\\\y"}\t\\\\x005cff\tt\tNaN\n' + "-1\t\\N\t\\N\t\\N\tf\t1e+300\n",
    );
  });

  test("a NUL character is refused with the row, table and column", async () => {
    for (const [line, column] of [
      ['{"id":1,"s":"a\\u0000b"}', "s"],
      ['{"id":1,"doc":{"k":["x\\u0000"]}}', "doc"],
    ] as const) {
      await assert.rejects(
        rowsOf(
          ['{"id":0,"s":"fine \\\\u0000 is text"}', line],
          [
            { name: "id", type: "bigint" },
            { name: "s", type: "text" },
            { name: "doc", type: "json" },
          ],
        ),
        (e: unknown) => {
          assert.ok(e instanceof DestinationError);
          assert.equal(e.message.startsWith(`row 2 of table "t" has a NUL character`), true, e.message);
          assert.equal(e.fields.column, column);
          return true;
        },
      );
    }
  });

  test("transient: terminated backends, dropped or refused connections, deadlocks; not: syntax, auth", () => {
    const pgErr = (code: string, message = "x") => Object.assign(new Error(message), { code });
    for (const e of [
      pgErr("57P01", "terminating connection due to administrator command"),
      pgErr("40001"),
      pgErr("40P01"),
      pgErr("08006"),
      pgErr("ECONNRESET"),
      pgErr("ECONNREFUSED"),
      new Error("Connection terminated unexpectedly"),
      new Error("wrapped", { cause: pgErr("57P01") }),
    ])
      assert.equal(isTransientPostgresError(e), true, e.message);
    for (const e of [pgErr("42601", "syntax error"), pgErr("28P01"), pgErr("22P02"), new Error("boom")])
      assert.equal(isTransientPostgresError(e), false, e.message);
  });

  test("URLs: target without the password, defaults, percent-encoding", () => {
    const u = parsePostgresUrl(
      "postgresql://etl%40corp:p%40ss%3Aw0rd@db.example.com/warehouse?sslmode=require",
    );
    assert.deepEqual(u.target, {
      host: "db.example.com",
      port: 5432,
      database: "warehouse",
      user: "etl@corp",
    });
    assert.equal(u.safeUrl, "postgresql://etl%40corp@db.example.com/warehouse?sslmode=require");
    assert.equal(u.safeUrl.includes("p%40ss"), false);
  });
});

test("a socket error under a running statement reads as a lost connection, and stays transient", () => {
  for (const code of ["EPIPE", "ECONNRESET"]) {
    const raw = Object.assign(new Error(`write ${code}`), { code });
    const e = withServerContext(raw) as Error & { code?: string };
    assert.equal(e.message, `the connection to Postgres was lost (write ${code})`);
    assert.equal(e.code, code);
    assert.equal(e.cause, raw);
    assert.equal(isTransientPostgresError(e), true);
  }
  const sql = Object.assign(new Error('relation "x" does not exist'), { code: "42P01" });
  assert.equal(withServerContext(sql), sql);
});
