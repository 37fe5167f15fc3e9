// The layer check: every import in src/ resolved to the top folder it points into, and judged against a table of
// layers (docs/architecture.md, DESIGN.md "Layers"). Pure functions over data, so the unit test can also run them on a
// small synthetic example.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

/** The layer of files directly under src/ (index.ts, the package root). */
export const ROOT = "(root)";

export interface LayerRules {
  /** Top folder under src/ (or ROOT) -> rank: higher layers have higher ranks. Imports point to lower ranks. */
  readonly ranks: Readonly<Record<string, number>>;
  /** Imports allowed between different layers of the same rank (peers), as [from, to]. */
  readonly peerImports: readonly (readonly [string, string])[];
  /** Imports forbidden whatever the ranks say; `from: "*"` means any other layer, `to: "*"` any other layer. */
  readonly forbidden: readonly { readonly from: string; readonly to: string; readonly why: string }[];
}

/** One import of a module of ours: the file (relative to the repo), its specifier, and both layers. */
export interface ImportEdge {
  readonly file: string;
  readonly specifier: string;
  readonly from: string;
  readonly to: string;
}

export interface Violation extends ImportEdge {
  readonly reason: string;
}

/** The layer of a path relative to src/ (`load/loader.ts` -> `load`, `index.ts` -> ROOT). */
export function layerOf(srcRelative: string): string {
  const parts = srcRelative.split(/[\\/]/);
  return parts.length === 1 ? ROOT : (parts[0] as string);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith(".ts") && !p.endsWith(".d.ts") ? [p] : [];
  });
}

/**
 * Every relative import of every .ts file under `srcDir` (static, type-only, re-exports, side-effect and dynamic
 * `import()`), with the layers of the importing file and of the imported path. `file` is relative to `baseDir`.
 */
export function importsOf(srcDir: string, baseDir = dirname(srcDir)): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const path of tsFiles(srcDir)) {
    const info = ts.preProcessFile(readFileSync(path, "utf8"), true, true);
    for (const imported of info.importedFiles) {
      const specifier = imported.fileName;
      if (!specifier.startsWith(".")) continue; // a package (node:fs, pg, ...), not a module of ours
      const target = relative(srcDir, resolve(dirname(path), specifier));
      if (target.startsWith(`..${sep}`) || target === "..") {
        throw new Error(
          `${relative(baseDir, path)} imports ${specifier}, outside ${relative(baseDir, srcDir)}/`,
        );
      }
      edges.push({
        file: relative(baseDir, path).split(sep).join("/"),
        specifier,
        from: layerOf(relative(srcDir, path)),
        to: layerOf(target),
      });
    }
  }
  return edges;
}

/** What is wrong with one import under the rules, or undefined when it is fine. */
export function judge(edge: Pick<ImportEdge, "from" | "to">, rules: LayerRules): string | undefined {
  const { from, to } = edge;
  if (from === to) return undefined;
  const fromRank = rules.ranks[from];
  const toRank = rules.ranks[to];
  if (fromRank === undefined) return `${from}/ is not in the layer table`;
  if (toRank === undefined) return `${to}/ is not in the layer table`;
  for (const rule of rules.forbidden) {
    if ((rule.from === "*" || rule.from === from) && (rule.to === "*" || rule.to === to)) return rule.why;
  }
  if (toRank > fromRank) return `${from} (rank ${fromRank}) imports the higher layer ${to} (rank ${toRank})`;
  if (toRank === fromRank && !rules.peerImports.some(([f, t]) => f === from && t === to)) {
    return `${from} and ${to} are peers (rank ${fromRank}): peers do not import each other`;
  }
  return undefined;
}

/** The imports that break the rules. */
export function checkImports(edges: readonly ImportEdge[], rules: LayerRules): Violation[] {
  const out: Violation[] = [];
  for (const edge of edges) {
    const reason = judge(edge, rules);
    if (reason !== undefined) out.push({ ...edge, reason });
  }
  return out;
}

/** The key of an import in an allow-list: `<file> -> <specifier>`. */
export const edgeKey = (e: Pick<ImportEdge, "file" | "specifier">) => `${e.file} -> ${e.specifier}`;

/** One line per violation, naming the file, the import and both layers. */
export const describeViolation = (v: Violation) =>
  `${v.file} imports "${v.specifier}" (${v.from} -> ${v.to}): ${v.reason}`;
