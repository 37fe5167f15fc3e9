import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import * as ferry from "../../src/index.js";

// The values `import ... from "ferry"` gives. A change here is a change of the public API: make it on purpose
// (and in README/docs), never as a side effect of an `export *`.
const PUBLIC_VALUES = [
  "ConfigError",
  "DATA_TYPES",
  "DataError",
  "Dataset",
  "DestinationError",
  "ExtractError",
  "FerryError",
  "JsonLines",
  "LoadPackageFailedError",
  "PipelineBusyError",
  "Pipeline",
  "Resource",
  "SchemaContractError",
  "Source",
  "TYPED_CSV_MAX_RECORD_BYTES",
  "TypedCsvFile",
  "attachPipeline",
  "clickhouse",
  "consoleLogger",
  "describeError",
  "duckdb",
  "filesystem",
  "isFerryError",
  "isPipeline",
  "jsonLines",
  "jsonlFile",
  "pipeline",
  "postgres",
  "registerSecret",
  "resolveDestination",
  "resource",
  "silentLogger",
  "source",
  "transformer",
];

test("the package root exports exactly the public values", () => {
  assert.deepEqual(Object.keys(ferry).sort(), [...PUBLIC_VALUES].sort());
});

test("src/index.ts names every export (no `export *`)", () => {
  const text = readFileSync(join(import.meta.dirname, "../../src/index.ts"), "utf8");
  assert.doesNotMatch(text, /export\s+(type\s+)?\*/);
});
