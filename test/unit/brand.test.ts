import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { isJsonLines, jsonLines } from "../../src/extract/json-lines.js";
import { isResource, resource } from "../../src/extract/resource.js";
import { isSource, source } from "../../src/extract/source.js";
import { isTypedCsvFile, TypedCsvFile } from "../../src/extract/typed-csv.js";
import { isDataset } from "../../src/pipeline/dataset.js";
import { isPipeline, pipeline } from "../../src/pipeline/pipeline.js";
import { brand, FERRY_KIND, isKind, kindOf } from "../../src/util/brand.js";
import {
  ConfigError,
  DestinationError,
  describeError,
  FerryError,
  isFerryError,
} from "../../src/util/errors.js";
import { silentLogger } from "../../src/util/log.js";

/** A second, separately evaluated copy of a module: what a user module with its own `node_modules/ferry` gets. */
async function secondCopy<T>(srcPath: string): Promise<T> {
  const url = pathToFileURL(join(import.meta.dirname, "../../src", srcPath)).href;
  return (await import(`${url}?copy=${Math.random()}`)) as T;
}

describe("brand()", () => {
  class Base {
    readonly x = 1;
  }
  brand(Base, "dataset");
  class Sub extends Base {}

  test("instances and subclass instances carry the kind; spreading or JSON does not copy it", () => {
    assert.equal(kindOf(new Base()), "dataset");
    assert.equal(kindOf(new Sub()), "dataset");
    assert.equal(isKind(new Sub(), "dataset"), true);
    assert.equal(isKind(new Sub(), "pipeline"), false);
    assert.deepEqual(Object.keys(new Base()), ["x"]);
    assert.equal(Object.getOwnPropertySymbols(new Base()).length, 0);
    assert.equal(kindOf({ ...new Base() }), undefined);
    assert.equal(JSON.stringify(new Base()), '{"x":1}');
  });

  test("the brand is the registered symbol every copy shares; non-objects and plain objects have no kind", () => {
    assert.equal(FERRY_KIND, Symbol.for("ferry.kind"));
    // An object built elsewhere (another copy, an older version with an own field) is recognised by the symbol alone.
    assert.equal(kindOf({ [Symbol.for("ferry.kind")]: "resource" }), "resource");
    assert.equal(kindOf({ [Symbol("ferry.kind")]: "resource" }), undefined);
    assert.equal(kindOf({ [Symbol.for("ferry.kind")]: 7 }), undefined);
    for (const x of [undefined, null, 0, "resource", true, () => 1, {}, []])
      assert.equal(kindOf(x), undefined);
  });
});

describe("guards of the public classes", () => {
  const p = pipeline({ name: "brand_test", logger: silentLogger, dir: "/nonexistent-ferry-brand-test" });
  const r = resource({ name: "r" }, [{ id: 1 }]);
  const values: Record<string, unknown> = {
    pipeline: p,
    source: source({ name: "s", resources: [r] }),
    resource: r,
    dataset: p.dataset(),
    json_lines: jsonLines('{"a":1}\n'),
    typed_csv_file: new TypedCsvFile("/tmp/x.csv", [{ name: "id", type: "bigint" }], 1),
    error: new ConfigError("bad"),
  };
  const guards: Record<string, (x: unknown) => boolean> = {
    pipeline: isPipeline,
    source: isSource,
    resource: isResource,
    dataset: isDataset,
    json_lines: isJsonLines,
    typed_csv_file: isTypedCsvFile,
    error: (x) => isFerryError(x),
  };

  test("each guard accepts its own kind and nothing else", () => {
    for (const [kind, guard] of Object.entries(guards)) {
      for (const [other, value] of Object.entries(values)) {
        assert.equal(guard(value), kind === other, `${kind} guard on a ${other}`);
      }
      assert.equal(guard({}), false);
      assert.equal(guard(null), false);
    }
  });

  test("a value of another copy of the class is recognised where instanceof fails", async () => {
    const other = await secondCopy<typeof import("../../src/extract/json-lines.js")>("extract/json-lines.ts");
    const lines = other.jsonLines('{"a":1}\n{"a":2}\n');
    assert.equal(lines instanceof other.JsonLines, true);
    assert.equal(lines.constructor === (values.json_lines as object).constructor, false);
    assert.equal(isJsonLines(lines), true);
    assert.equal(lines.lines, 2);
  });
});

describe("isFerryError()", () => {
  test("recognises ferry's errors by brand and tells them apart by code", () => {
    const e = new DestinationError("down", { transient: true });
    assert.equal(isFerryError(e), true);
    assert.equal(isFerryError(e, "destination"), true);
    assert.equal(isFerryError(e, "config"), false);
    assert.equal(isFerryError(new FerryError("x"), "ferry_error"), true);
    // Look-alikes are not ferry errors: a plain Error with the same code, an object with the same fields.
    const fake = Object.assign(new Error("down"), {
      code: "destination",
      hint: "h",
      transient: true,
      fields: {},
    });
    assert.equal(isFerryError(fake), false);
    assert.equal(isFerryError({ code: "config", message: "m" }), false);
    assert.equal(isFerryError("config"), false);
    assert.equal(isFerryError(undefined), false);
  });

  test("an error thrown by another copy of ferry is a ferry error of its code, and is described with its hint", async () => {
    const other = await secondCopy<typeof import("../../src/util/errors.js")>("util/errors.ts");
    assert.notEqual(other.ConfigError, ConfigError);
    const e: unknown = new other.ConfigError("no token", {
      hint: "set API_TOKEN",
      fields: { resource: "users" },
    });
    assert.equal(e instanceof FerryError, false, "instanceof fails across copies: the reason for brands");
    assert.equal(isFerryError(e), true);
    assert.equal(isFerryError(e, "config"), true);
    assert.equal(isFerryError(e, "extract"), false);
    assert.equal(describeError(e), "no token\n  where: resource=users\n  hint: set API_TOKEN");
    // And the other way round: the other copy recognises this copy's errors.
    assert.equal(other.isFerryError(new ConfigError("x"), "config"), true);
  });
});
