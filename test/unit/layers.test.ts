import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import {
  checkImports,
  describeViolation,
  edgeKey,
  type ImportEdge,
  importsOf,
  judge,
  type LayerRules,
  layerOf,
  ROOT,
} from "../helpers/layers.js";

const REPO = join(import.meta.dirname, "../..");

/** The engine: the pipeline and everything below it (the push door, schedules and the dashboard sit above). */
const ENGINE = [
  "pipeline",
  "sources",
  "destinations",
  "load",
  "normalize",
  "extract",
  "package",
  "formats",
  "storage",
];

/**
 * ferry's layers, top to bottom (DESIGN.md "Layers", docs/architecture.md). Imports point down only; a layer may
 * import itself; layers of one rank are peers and do not import each other unless `peerImports` allows it.
 */
const FERRY_LAYERS: LayerRules = {
  ranks: {
    [ROOT]: 100, // src/index.ts: the package's public API
    cli: 90,
    testing: 85, // public test helpers (ferry/testing)
    ui: 80,
    orchestration: 70,
    events: 60,
    pipeline: 50,
    sources: 45,
    destinations: 45,
    load: 40,
    normalize: 40,
    extract: 40,
    package: 35,
    formats: 30,
    storage: 25,
    schema: 20,
    http: 10,
    config: 10,
    util: 10,
  },
  peerImports: [
    ["config", "util"],
    ["http", "util"],
  ],
  forbidden: [
    { from: "*", to: "cli", why: "nothing imports cli/" },
    { from: "schema", to: "*", why: "schema/ is the pure model: it imports nothing of ours" },
    { from: "sources", to: "destinations", why: "sources never import destinations/" },
    { from: "sources", to: "pipeline", why: "sources never import pipeline/" },
    { from: "destinations", to: "sources", why: "destinations never import sources/" },
    { from: "destinations", to: "pipeline", why: "destinations never import pipeline/" },
    ...ENGINE.flatMap((from) =>
      ["events", "orchestration", "ui"].map((to) => ({
        from,
        to,
        why: "the engine (pipeline and below) never imports events/, orchestration/ or ui/",
      })),
    ),
  ],
};

/**
 * Imports that break the rules, each with the reason it is still there. Empty: every import points down. The test
 * fails when an entry no longer matches an import, so the list can only shrink.
 */
const KNOWN_EXCEPTIONS: Readonly<Record<string, string>> = {};

describe("layer checker (synthetic rules)", () => {
  const rules: LayerRules = {
    ranks: { app: 3, a: 2, b: 2, c: 2, pure: 1, base: 0 },
    peerImports: [["a", "b"]],
    forbidden: [
      { from: "pure", to: "*", why: "pure imports nothing" },
      { from: "c", to: "base", why: "c never imports base" },
    ],
  };
  const edge = (from: string, to: string): ImportEdge => ({
    file: `src/${from}/x.ts`,
    specifier: `../${to}/y.js`,
    from,
    to,
  });

  test("down and within a layer pass; up, unlisted peers and forbidden pairs fail with a reason", () => {
    assert.equal(judge(edge("app", "a"), rules), undefined);
    assert.equal(judge(edge("a", "base"), rules), undefined);
    assert.equal(judge(edge("a", "a"), rules), undefined);
    assert.equal(judge(edge("pure", "pure"), rules), undefined, "a layer may import itself");
    assert.equal(judge(edge("a", "b"), rules), undefined, "an allowed peer import");
    assert.equal(judge(edge("b", "a"), rules), "b and a are peers (rank 2): peers do not import each other");
    assert.equal(judge(edge("base", "app"), rules), "base (rank 0) imports the higher layer app (rank 3)");
    assert.equal(
      judge(edge("pure", "base"), rules),
      "pure imports nothing",
      "forbidden although it points down",
    );
    assert.equal(judge(edge("c", "base"), rules), "c never imports base");
    assert.equal(judge(edge("nowhere", "a"), rules), "nowhere/ is not in the layer table");
    assert.equal(judge(edge("a", "nowhere"), rules), "nowhere/ is not in the layer table");
  });

  test("checkImports() keeps the failing imports and names file, import and both layers", () => {
    const found = checkImports([edge("app", "a"), edge("base", "app"), edge("b", "a")], rules);
    assert.deepEqual(found.map(describeViolation), [
      'src/base/x.ts imports "../app/y.js" (base -> app): base (rank 0) imports the higher layer app (rank 3)',
      'src/b/x.ts imports "../a/y.js" (b -> a): b and a are peers (rank 2): peers do not import each other',
    ]);
  });

  test("importsOf() finds every kind of relative import and resolves it to its top folder", () => {
    const root = mkdtempSync(join(tmpdir(), "ferry-layers-"));
    try {
      const files: Record<string, string> = {
        "src/index.ts": 'export { x } from "./a/one.js";\nexport * from "./b/two.js";\n',
        "src/a/one.ts": [
          'import { readFileSync } from "node:fs";',
          'import type { T } from "../b/two.js";',
          'import "./side-effect.js";',
          'import { y } from "../b/deep/three.js";',
          "export const x = 1;",
          'export async function later() { return import("../base/lazy.js"); }',
          "// a comment mentioning import('../app/nothing.js') is not an import",
        ].join("\n"),
        "src/b/two.ts": "export type T = number;\n",
        "src/b/deep/three.ts": 'import { x } from "../../a/one.js";\nexport const y = x;\n',
      };
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), text);
      }
      const edges = importsOf(join(root, "src")).map(
        (e) => `${e.file}: ${e.specifier} (${e.from} -> ${e.to})`,
      );
      assert.deepEqual(edges.sort(), [
        "src/a/one.ts: ../b/deep/three.js (a -> b)",
        "src/a/one.ts: ../b/two.js (a -> b)",
        "src/a/one.ts: ../base/lazy.js (a -> base)",
        "src/a/one.ts: ./side-effect.js (a -> a)",
        "src/b/deep/three.ts: ../../a/one.js (b -> a)",
        "src/index.ts: ./a/one.js ((root) -> a)",
        "src/index.ts: ./b/two.js ((root) -> b)",
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("layerOf() names the top folder, or the root for files directly in src/", () => {
    assert.equal(layerOf("load/loader.ts"), "load");
    assert.equal(layerOf("sources/rest-api/paginators/json-link.ts"), "sources");
    assert.equal(layerOf("index.ts"), ROOT);
  });
});

describe("ferry's layers", () => {
  const edges = importsOf(join(REPO, "src"), REPO);

  test("no module in src/ imports a higher layer (or a peer, or what the rules forbid)", () => {
    assert.ok(edges.length > 300, `found only ${edges.length} imports: the scan is broken`);
    const violations = checkImports(edges, FERRY_LAYERS).filter((v) => !(edgeKey(v) in KNOWN_EXCEPTIONS));
    assert.deepEqual(violations.map(describeViolation), []);
  });

  test("every folder of src/ is in the layer table", () => {
    const layers = new Set(edges.flatMap((e) => [e.from, e.to]));
    assert.deepEqual(
      [...layers].filter((l) => FERRY_LAYERS.ranks[l] === undefined),
      [],
    );
  });

  test("every known exception still matches a violating import (remove the ones that were fixed)", () => {
    const violating = new Set(checkImports(edges, FERRY_LAYERS).map(edgeKey));
    assert.deepEqual(
      Object.keys(KNOWN_EXCEPTIONS).filter((k) => !violating.has(k)),
      [],
    );
  });
});
