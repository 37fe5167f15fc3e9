import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { findValues, selectPath } from "../../src/sources/rest-api/jsonpath.js";
import {
  classify,
  fillString,
  fillValue,
  PlaceholderError,
  parseTemplate,
  TemplateError,
} from "../../src/sources/rest-api/placeholders.js";

describe("templates read as Python's str.format reads them", () => {
  test("placeholders and doubled braces", () => {
    assert.deepEqual(parseTemplate("issues/{resources.issues.number}/c"), [
      { text: "issues/" },
      { expr: "resources.issues.number" },
      { text: "/c" },
    ]);
    assert.deepEqual(parseTemplate("{{'filters': [{{'id': 42}}]}}"), [{ text: "{'filters': [{'id': 42}]}" }]);
    assert.deepEqual(parseTemplate("a {{b}} {c}"), [{ text: "a {b} " }, { expr: "c" }]);
    assert.deepEqual(parseTemplate("{resources.p.items[0].id}"), [{ expr: "resources.p.items[0].id" }]);
    assert.deepEqual(parseTemplate("plain"), [{ text: "plain" }]);
  });

  test("lone braces, empty and formatted placeholders are refused with what to write", () => {
    const cases: [string, string][] = [
      ["a } b", 'a single "}" at position 2; write "}}" for a literal brace'],
      ["a { b", 'a "{" at position 2 starts no placeholder; write "{{" for a literal brace'],
      ["{}", 'an empty placeholder "{}"; write "{{}}" for literal braces'],
      ['{"a":1}', '"{"a":1}" is not a placeholder; write "{{" and "}}" for literal braces'],
      ["{x!r}", '"{x!r}" has a format spec or conversion, which ferry does not apply'],
    ];
    for (const [s, message] of cases)
      assert.throws(
        () => parseTemplate(s),
        (e: unknown) => e instanceof TemplateError && e.message === message,
      );
  });

  test("expressions: parent fields, incremental values, path names", () => {
    assert.deepEqual(classify("resources.issues.user.login"), {
      kind: "parent",
      resource: "issues",
      field: "user.login",
    });
    assert.deepEqual(classify("incremental.initial_value"), { kind: "incremental", name: "initial_value" });
    assert.deepEqual(classify("issue_id"), { kind: "name", name: "issue_id" });
    assert.equal(classify("resources.issues").kind, "invalid");
    assert.equal(classify("incremental.since").kind, "invalid");
    assert.equal(classify("foo.bar").kind, "invalid");
  });

  test("filling keeps types in JSON bodies, writes text elsewhere, and leaves out what has no value", () => {
    const values: Record<string, unknown> = {
      "resources.p.id": 7,
      "resources.p.at": new Date("2024-01-02T03:04:05Z"),
      "incremental.end_value": undefined,
    };
    const lookup = (e: string) => values[e];
    assert.equal(fillString("{resources.p.id}", lookup, { keepType: true }), 7);
    assert.equal(fillString("{resources.p.id}", lookup), "7");
    assert.equal(fillString("id-{resources.p.id}", lookup), "id-7");
    assert.equal(fillString("{resources.p.at}", lookup), "2024-01-02T03:04:05.000Z");
    assert.equal(fillString("a b/{resources.p.id}", lookup, { encode: true }), "a b/7");
    assert.equal(fillString("{incremental.end_value}", lookup), undefined);
    assert.throws(() => fillString("until {incremental.end_value}", lookup), PlaceholderError);
    assert.deepEqual(
      fillValue({ q: "{incremental.end_value}", k: "{{x}}", "{resources.p.id}": "v" }, lookup, false),
      { k: "{x}", "7": "v" },
    );
    assert.deepEqual(fillValue({ q: "{incremental.end_value}", id: "{resources.p.id}" }, lookup, true), {
      q: null,
      id: 7,
    });
    assert.throws(
      () => fillString("{resources.p.obj}", () => ({ a: 1 })),
      /is \{"a":1\}, not a text or number value/,
    );
  });
});

describe("paths in dlt's syntax (jsonpath-ng)", () => {
  const body = {
    "@odata.nextLink": "/next",
    "a.b": 2,
    data: {
      items: [
        { id: 1, tags: ["x"] },
        { id: 2, tags: ["y", "z"] },
      ],
    },
    meta: { next: null },
  };

  test("dotted, $-rooted, bracketed, indexed, wildcard and recursive paths", () => {
    assert.equal(selectPath(body, "['@odata.nextLink']"), "/next");
    assert.equal(selectPath(body, "$['@odata.nextLink']"), "/next");
    assert.equal(selectPath(body, '$["a.b"]'), 2);
    assert.equal(selectPath(body, "data.items[1].id"), 2);
    assert.equal(selectPath(body, "$.data.items[0].tags[0]"), "x");
    assert.deepEqual(selectPath(body, "data.items[*].id"), [1, 2]);
    assert.deepEqual(selectPath(body, "$..id"), [1, 2]);
    assert.deepEqual(selectPath(body, "data.items[*].tags[*]"), ["x", "y", "z"]);
    assert.equal(selectPath(body, "meta.next"), null);
    assert.equal(selectPath(body, "meta.missing"), undefined);
    assert.deepEqual(selectPath(body, "$"), body);
  });

  test("a present null and a missing key differ (found vs not found)", () => {
    assert.deepEqual(findValues(body, "meta.next"), [null]);
    assert.deepEqual(findValues(body, "meta.later"), []);
  });

  test("filters go to jsonpath-plus", () => {
    assert.deepEqual(selectPath(body, "$.data.items[?(@.id > 1)].id"), [2]);
  });
});
