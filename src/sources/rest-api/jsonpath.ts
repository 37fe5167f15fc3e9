import { JSONPath } from "jsonpath-plus";

/** One step of a path: a field, an index, or a wildcard (`*`), optionally searched at any depth (`..`). */
type Step = { field: string; deep?: boolean } | { index: number } | { wildcard: true; deep?: boolean };

const NAME = /^[A-Za-z_@$][\w@$-]*/;

/**
 * Parses the paths dlt's configs write (jsonpath-ng syntax): `data.items`, `$.data[*].id`, `['@odata.nextLink']`,
 * `$["a.b"]`, `items[0]`, `..id`. Returns undefined for anything else (filters, slices), which goes to jsonpath-plus.
 */
function parse(path: string): Step[] | undefined {
  let rest = path.trim();
  if (rest.startsWith("$")) rest = rest.slice(1);
  const steps: Step[] = [];
  let first = true;
  while (rest.length > 0) {
    let deep = false;
    if (rest.startsWith("..")) {
      deep = true;
      rest = rest.slice(2);
    } else if (rest.startsWith(".")) rest = rest.slice(1);
    else if (!first && !rest.startsWith("[")) return undefined;
    first = false;
    if (rest.startsWith("*")) {
      steps.push({ wildcard: true, deep });
      rest = rest.slice(1);
      continue;
    }
    const bracket = /^\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(\d+)|(\*))\s*\]/.exec(rest);
    if (bracket) {
      const [all, single, double, index, star] = bracket;
      if (star !== undefined) steps.push({ wildcard: true, deep });
      else if (index !== undefined) {
        if (deep) return undefined;
        steps.push({ index: Number(index) });
      } else steps.push({ field: (single ?? double ?? "").replace(/\\(.)/g, "$1"), deep });
      rest = rest.slice(all.length);
      continue;
    }
    const name = NAME.exec(rest);
    if (!name) return undefined;
    steps.push({ field: name[0], deep });
    rest = rest.slice(name[0].length);
  }
  return steps;
}

function children(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v !== null && typeof v === "object") return Object.values(v);
  return [];
}

function descendants(v: unknown, out: unknown[] = []): unknown[] {
  out.push(v);
  for (const c of children(v)) descendants(c, out);
  return out;
}

function apply(step: Step, nodes: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const node of nodes) {
    const scope = "deep" in step && step.deep ? descendants(node) : [node];
    for (const n of scope) {
      if ("wildcard" in step) out.push(...children(n));
      else if ("index" in step) {
        if (Array.isArray(n) && step.index < n.length) out.push(n[step.index]);
      } else if (n !== null && typeof n === "object" && !Array.isArray(n) && Object.hasOwn(n, step.field)) {
        out.push((n as Record<string, unknown>)[step.field]);
      }
    }
  }
  return out;
}

/** Every value a path selects (dlt's `find_values`). */
export function findValues(data: unknown, path: string): unknown[] {
  const steps = parse(path);
  if (steps) return steps.reduce((nodes, step) => apply(step, nodes), [data]);
  if (data === null || typeof data !== "object") return [];
  const full = path.trim().startsWith("$") ? path : `$.${path}`;
  return JSONPath({ path: full, json: data as object, wrap: true, eval: "safe" }) as unknown[];
}

/** Whether a path can select more than one value (wildcards, `..`, filters, slices, unions). */
export function isMultiPath(path: string): boolean {
  const steps = parse(path);
  if (steps) return steps.some((s) => "wildcard" in s || ("deep" in s && s.deep));
  return /\*|\.\.|\[\?|,|:/.test(path);
}

/**
 * Reads a value by path, in dlt's syntax: a dotted path (`meta.next`), a JSONPath (`$.data[*].attributes`), or
 * bracketed names for keys with dots or `@` (`['@odata.nextLink']`). Returns undefined when nothing matches; an
 * array of the matches when the path has wildcards or filters.
 *
 * @example
 * selectPath({ meta: { next: "/p2" } }, "meta.next") // "/p2"
 * selectPath({ "@odata.nextLink": "/p2" }, "['@odata.nextLink']") // "/p2"
 */
export function selectPath(data: unknown, path: string): unknown {
  if (data === null || typeof data !== "object") return undefined;
  const values = findValues(data, path);
  if (isMultiPath(path)) return values.length === 0 ? undefined : values;
  return values[0];
}
