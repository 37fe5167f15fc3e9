import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { describe, test } from "node:test";
import { SETTINGS, setting, settings } from "../../src/config/settings.js";
import { isFerryError } from "../../src/util/errors.js";

const REPO = join(import.meta.dirname, "../..");
const cores = Math.max(1, availableParallelism());

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** The source without its comments (doc examples such as `process.env.KEY!` are fine). */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");

describe("settings()", () => {
  test("defaults when nothing is set, and for empty or blank variables", () => {
    const defaults = {
      logLevel: "warn",
      pipelinesDir: ".ferry",
      extractConcurrency: 4,
      streamNormalize: true,
      normalizeWorkers: Math.min(4, cores),
      duckdbMemoryLimit: undefined,
      duckdbThreads: undefined,
      duckdbRowGroupSize: undefined,
      fsThreads: undefined,
      clickhouseInsertBatchRows: 200_000,
      uiToken: undefined,
    };
    assert.deepEqual(settings({}), defaults);
    const blank = Object.fromEntries(Object.values(SETTINGS).map((d, i) => [d.variable, i % 2 ? "" : "  "]));
    assert.deepEqual(settings(blank), defaults);
  });

  test("parses each variable", () => {
    assert.deepEqual(
      settings({
        FERRY_LOG_LEVEL: "DEBUG",
        FERRY_PIPELINES_DIR: "/srv/ferry",
        FERRY_EXTRACT_CONCURRENCY: " 8 ",
        FERRY_STREAM_NORMALIZE: "0",
        FERRY_NORMALIZE_WORKERS: "1",
        FERRY_DUCKDB_MEMORY_LIMIT: "2GB",
        FERRY_DUCKDB_THREADS: "1",
        FERRY_DUCKDB_ROW_GROUP_SIZE: "16384",
        FERRY_FS_THREADS: "2",
        FERRY_CLICKHOUSE_INSERT_BATCH_ROWS: "5000",
        FERRY_UI_TOKEN: "s3cret-token",
      }),
      {
        logLevel: "debug",
        pipelinesDir: "/srv/ferry",
        extractConcurrency: 8,
        streamNormalize: false,
        normalizeWorkers: 1,
        duckdbMemoryLimit: "2GB",
        duckdbThreads: 1,
        duckdbRowGroupSize: 16384,
        fsThreads: 2,
        clickhouseInsertBatchRows: 5000,
        uiToken: "s3cret-token",
      },
    );
    for (const off of ["0", "false", "No", "off"])
      assert.equal(setting("streamNormalize", { FERRY_STREAM_NORMALIZE: off }), false, off);
    for (const on of ["1", "true", "YES", "on"])
      assert.equal(setting("streamNormalize", { FERRY_STREAM_NORMALIZE: on }), true, on);
    // More workers than cores only add contention: the value is capped.
    assert.equal(setting("normalizeWorkers", { FERRY_NORMALIZE_WORKERS: "1000" }), cores);
  });

  test("a value that does not parse is a ConfigError naming the variable and what it takes", () => {
    const cases: [string, string, string][] = [
      ["FERRY_NORMALIZE_WORKERS", "abc", "a whole number >= 1"],
      ["FERRY_NORMALIZE_WORKERS", "0", "a whole number >= 1"],
      ["FERRY_NORMALIZE_WORKERS", "2.5", "a whole number >= 1"],
      ["FERRY_EXTRACT_CONCURRENCY", "-1", "a whole number >= 1"],
      ["FERRY_FS_THREADS", "many", "a whole number >= 1"],
      ["FERRY_DUCKDB_THREADS", "0", "a whole number >= 1"],
      ["FERRY_DUCKDB_ROW_GROUP_SIZE", "small", "a whole number >= 1"],
      ["FERRY_LOG_LEVEL", "verbose", "one of debug, info, warn, error, silent"],
      ["FERRY_STREAM_NORMALIZE", "maybe", "1 or 0 (true/false, yes/no, on/off)"],
    ];
    for (const [variable, value, expected] of cases) {
      assert.throws(
        () => settings({ [variable]: value }),
        (err: unknown) => {
          assert.ok(isFerryError(err, "config"), `${variable}=${value}: ${String(err)}`);
          assert.equal(err.message, `${variable}="${value}" is not valid: ${expected}`);
          assert.equal(err.hint, `set ${variable} to ${expected}, or unset it for the default`);
          return true;
        },
      );
    }
  });

  test("setting() reads only its own variable, from process.env at the time of the call", () => {
    assert.equal(
      setting("pipelinesDir", { FERRY_PIPELINES_DIR: "/x", FERRY_NORMALIZE_WORKERS: "abc" }),
      "/x",
    );
    const before = process.env.FERRY_EXTRACT_CONCURRENCY;
    try {
      process.env.FERRY_EXTRACT_CONCURRENCY = "7";
      assert.equal(setting("extractConcurrency"), 7);
      process.env.FERRY_EXTRACT_CONCURRENCY = "3";
      assert.equal(setting("extractConcurrency"), 3);
    } finally {
      if (before === undefined) delete process.env.FERRY_EXTRACT_CONCURRENCY;
      else process.env.FERRY_EXTRACT_CONCURRENCY = before;
    }
  });
});

describe("one place for the environment", () => {
  const docs = readFileSync(join(REPO, "docs/configuration.md"), "utf8");
  /** The table's rows as trimmed cells: variable, default, what it does. */
  const rows = docs
    .split("\n")
    .filter((l) => l.startsWith("| `"))
    .map((l) =>
      l
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim()),
    );

  test("docs/configuration.md has a row for every setting, with its default", () => {
    for (const [key, def] of Object.entries(SETTINGS)) {
      const row = rows.find((r) => r[0] === `\`${def.variable}\``);
      assert.ok(row, `docs/configuration.md has no row for ${def.variable}`);
      const fallback = def.fallback();
      const shown = fallback === true ? "1" : fallback;
      if (key !== "normalizeWorkers" && shown !== undefined)
        assert.equal(row[1], `\`${shown}\``, def.variable);
    }
  });

  test("every variable src/ reads by name is in docs/configuration.md's table", () => {
    const table = rows.map((r) => r[0]).join("\n");
    const read = new Set<string>();
    for (const file of sourceFiles(join(REPO, "src"))) {
      const text = code(readFileSync(file, "utf8"));
      for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) read.add(m[1] as string);
      for (const m of text.matchAll(/defaultEnvironment\("([A-Z][A-Z0-9_]+)"/g)) read.add(m[1] as string);
    }
    for (const def of Object.values(SETTINGS)) read.add(def.variable);
    assert.ok(
      read.has("AWS_ACCESS_KEY_ID") && read.has("PGHOST"),
      "the scan finds the cloud and libpq variables",
    );
    const missing = [...read].filter((v) => !table.includes(`\`${v}\``));
    assert.deepEqual(missing, [], "variables read in src/ but not documented");
  });

  test("only src/config/ touches process.env (outside comments)", () => {
    const offenders = sourceFiles(join(REPO, "src"))
      .filter((f) => !relative(join(REPO, "src"), f).startsWith("config/"))
      .filter((f) => code(readFileSync(f, "utf8")).includes("process.env"))
      .map((f) => relative(REPO, f));
    assert.deepEqual(offenders, []);
  });
});
