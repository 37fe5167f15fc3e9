/**
 * The model of file formats (formats/file-format.ts) against the places that use it: destinations declare only
 * load-file formats of the model, sources hand over only formats written by sources, and the filesystem destination
 * accepts exactly the table-file formats and compressions the model lists (resolveFilesystemOptions).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DestinationCapabilities } from "../../src/destinations/destination.js";
import { duckdbCapabilities } from "../../src/destinations/duckdb/duckdb-destination.js";
import { filesystemCapabilities } from "../../src/destinations/filesystem/filesystem-destination.js";
import { fileExtension, resolveFilesystemOptions } from "../../src/destinations/filesystem/options.js";
import { postgresCapabilities } from "../../src/destinations/postgres/postgres-destination.js";
import {
  FILE_FORMATS,
  type FileFormat,
  isTableFileFormat,
  SOURCE_WRITTEN_FORMATS,
} from "../../src/formats/file-format.js";
import { ConfigError } from "../../src/util/errors.js";

const ALL = Object.values(FILE_FORMATS) as FileFormat[];
const LOAD_FILE_FORMATS = ALL.filter((f) => f.loadFile).map((f) => f.name);
const TABLE_FILE_FORMATS = ALL.filter((f) => f.tableFile).map((f) => f.name);
const DESTINATIONS: Record<string, DestinationCapabilities> = {
  duckdb: duckdbCapabilities,
  postgres: postgresCapabilities,
  filesystem: filesystemCapabilities,
};

/** The ConfigError `fn` throws (fails the test when it throws nothing or something else). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected a ConfigError, nothing was thrown");
}

describe("the format model", () => {
  test("names, extensions and roles", () => {
    for (const [key, f] of Object.entries(FILE_FORMATS)) assert.equal(f.name, key);
    assert.deepEqual(LOAD_FILE_FORMATS, ["jsonl", "typed_csv"]);
    assert.deepEqual(TABLE_FILE_FORMATS, ["jsonl", "csv", "parquet"]);
    assert.deepEqual(Object.fromEntries(ALL.map((f) => [f.name, f.extension])), {
      jsonl: "jsonl",
      typed_csv: "csv",
      csv: "csv",
      parquet: "parquet",
    });
    assert.equal(FILE_FORMATS.jsonl.loadFile.writtenBy, "normalize");
    assert.equal(FILE_FORMATS.typed_csv.loadFile.writtenBy, "source");
  });

  test("SOURCE_WRITTEN_FORMATS is exactly typed CSV", () => {
    assert.deepEqual(SOURCE_WRITTEN_FORMATS, ["typed_csv"]);
  });

  test("isTableFileFormat knows the table-file formats only, not inherited names", () => {
    for (const name of TABLE_FILE_FORMATS) assert.equal(isTableFileFormat(name), true, name);
    for (const name of ["typed_csv", "avro", "", "PARQUET", "constructor", "__proto__", "toString"])
      assert.equal(isTableFileFormat(name), false, name);
  });
});

describe("destination capabilities", () => {
  test("each destination's formats, exactly", () => {
    assert.deepEqual(
      Object.fromEntries(Object.entries(DESTINATIONS).map(([n, c]) => [n, [...c.supportedFileFormats]])),
      { duckdb: ["jsonl", "typed_csv"], postgres: ["jsonl"], filesystem: ["jsonl"] },
    );
  });

  for (const [name, caps] of Object.entries(DESTINATIONS)) {
    test(`${name}: only load-file formats of the model, the preferred one among them and written by normalize`, () => {
      for (const f of caps.supportedFileFormats) {
        const format = (FILE_FORMATS as Record<string, FileFormat>)[f];
        assert.ok(format?.loadFile, `${f} is not a load-file format`);
      }
      assert.equal(new Set(caps.supportedFileFormats).size, caps.supportedFileFormats.length);
      assert.ok(caps.supportedFileFormats.includes(caps.preferredFileFormat));
      assert.equal(
        (FILE_FORMATS as Record<string, FileFormat>)[caps.preferredFileFormat]?.loadFile?.writtenBy,
        "normalize",
      );
      assert.ok(Object.isFrozen(caps));
    });
  }
});

describe("filesystem destination formats and compressions", () => {
  const url = "file:///tmp/ferry-file-formats-unit";

  for (const name of TABLE_FILE_FORMATS) {
    const compressions = (FILE_FORMATS as Record<string, FileFormat>)[name]?.tableFile?.compressions ?? [];

    test(`${name}: accepts ${compressions.join(", ")}, the first by default, as an option and in the URL`, () => {
      assert.ok(compressions.length > 0);
      const format = name as "jsonl" | "csv" | "parquet";
      assert.equal(resolveFilesystemOptions({ url, format }).compression, compressions[0]);
      for (const compression of compressions) {
        const o = resolveFilesystemOptions({ url, format, compression });
        assert.deepEqual([o.format, o.compression], [name, compression]);
        const q = resolveFilesystemOptions({ url: `${url}?format=${name}&compression=${compression}` });
        assert.deepEqual([q.format, q.compression], [name, compression]);
      }
    });

    test(`${name}: refuses other compressions with a ConfigError naming the choices`, () => {
      const others = [
        "brotli",
        "GZIP",
        "",
        ...TABLE_FILE_FORMATS.flatMap(
          (f) => (FILE_FORMATS as Record<string, FileFormat>)[f]?.tableFile?.compressions ?? [],
        ),
      ].filter((c) => !compressions.includes(c));
      assert.ok(others.includes("brotli"));
      for (const compression of new Set(others)) {
        const err = configError(() =>
          resolveFilesystemOptions({ url, format: name as "jsonl", compression }),
        );
        assert.equal(err.message, `compression "${compression}" is not available for ${name}`);
        assert.equal(err.hint, `${name} supports: ${compressions.join(", ")}`);
      }
    });
  }

  test("a format that is not a table-file format is refused, the hint names every table-file format", () => {
    for (const format of ["typed_csv", "avro"]) {
      const err = configError(() => resolveFilesystemOptions({ url, format: format as "csv" }));
      assert.equal(err.message, `unknown file format "${format}"`);
      for (const name of TABLE_FILE_FORMATS) assert.match(err.hint ?? "", new RegExp(`\\b${name}\\b`));
      assert.doesNotMatch(err.hint ?? "", /typed_csv/);
    }
    assert.equal(
      configError(() => resolveFilesystemOptions({ url: `${url}?format=typed_csv` })).message,
      'unknown file format "typed_csv"',
    );
  });

  test("file extensions: gzip adds .gz to text formats, parquet compresses inside the file", () => {
    assert.equal(fileExtension("jsonl", "gzip"), "jsonl.gz");
    assert.equal(fileExtension("csv", "gzip"), "csv.gz");
    assert.equal(fileExtension("jsonl", "none"), "jsonl");
    assert.equal(fileExtension("parquet", "gzip"), "parquet");
    assert.equal(fileExtension("parquet", "zstd"), "parquet");
    for (const name of TABLE_FILE_FORMATS)
      assert.ok(fileExtension(name as "csv", "none").startsWith(FILE_FORMATS[name as "csv"].extension));
  });
});
