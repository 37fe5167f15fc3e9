import { JSONPath } from "jsonpath-plus";

/**
 * Reads a value by path: a JSONPath (`$.data.items`, `data[*].attributes`) or a dotted path (`meta.next`).
 * Returns undefined when nothing matches; an array when the path has wildcards or filters.
 *
 * @example
 * selectPath({ meta: { next: "/p2" } }, "meta.next") // "/p2"
 */
export function selectPath(data: unknown, path: string): unknown {
  if (data === null || typeof data !== "object") return undefined;
  if (/^[\w-]+(\.[\w-]+)*$/.test(path)) {
    let cur: unknown = data;
    for (const part of path.split(".")) {
      if (cur === null || typeof cur !== "object") return undefined;
      cur = (cur as Record<string, unknown>)[part];
    }
    return cur;
  }
  const results = JSONPath({ path, json: data as object, wrap: true, eval: false }) as unknown[];
  if (results.length === 0) return undefined;
  const multi = /\*|\.\.|\[\?|,|:/.test(path);
  return multi ? results : results[0];
}
