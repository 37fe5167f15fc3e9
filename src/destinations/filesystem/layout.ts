import { ConfigError } from "../../util/errors.js";

/** The default layout inside a dataset's folder: one folder per table, files named by load and file id. */
export const DEFAULT_LAYOUT = "{table}/{load_id}.{file_id}.{ext}";

const PLACEHOLDERS = ["dataset", "table", "load_id", "file_id", "ext", "YYYY", "MM", "DD", "HH"] as const;
type Placeholder = (typeof PLACEHOLDERS)[number];
const REQUIRED: readonly Placeholder[] = ["table", "load_id", "file_id"];

/** What a data file's key is made of. */
export interface LayoutValues {
  dataset: string;
  table: string;
  loadId: string;
  fileId: string;
  ext: string;
}

/**
 * A validated file layout: the key of a data file relative to the dataset's folder. Placeholders: `{table}`,
 * `{load_id}`, `{file_id}` (all three required, so keys never collide and a package rewrites its own keys on a
 * retry), `{ext}`, `{dataset}`, and the UTC date parts of the load time `{YYYY}`, `{MM}`, `{DD}`, `{HH}`.
 *
 * @example
 * const layout = parseLayout("{table}/{YYYY}/{MM}/{DD}/{load_id}.{file_id}.{ext}");
 * layout.render({ dataset: "gh", table: "issues", loadId: "1700000000000.ab12cd", fileId: "0000", ext: "parquet" })
 * // "issues/2023/11/14/1700000000000.ab12cd.0000.parquet"
 */
export interface Layout {
  readonly pattern: string;
  render(values: LayoutValues): string;
}

/** Validates a layout pattern (see `Layout`); throws ConfigError naming what is wrong. */
export function parseLayout(pattern: string = DEFAULT_LAYOUT): Layout {
  const found = [...pattern.matchAll(/\{([^}]*)\}/g)].map((m) => m[1] ?? "");
  const unknown = found.filter((p) => !(PLACEHOLDERS as readonly string[]).includes(p));
  const bad = (why: string) =>
    new ConfigError(`invalid filesystem layout "${pattern}": ${why}`, {
      hint: `placeholders: ${PLACEHOLDERS.map((p) => `{${p}}`).join(" ")}; the default is "${DEFAULT_LAYOUT}"`,
    });
  if (unknown.length > 0) throw bad(`unknown placeholder(s) ${unknown.map((p) => `{${p}}`).join(", ")}`);
  const missing = REQUIRED.filter((p) => !found.includes(p));
  if (missing.length > 0) throw bad(`it must contain ${missing.map((p) => `{${p}}`).join(", ")}`);
  const segments = pattern.split("/");
  if (pattern.startsWith("/") || segments.some((s) => s === "" || s === "." || s === ".."))
    throw bad("it must be a relative path without empty, '.' or '..' segments");
  if (/[{}]/.test(pattern.replace(/\{[^}]*\}/g, ""))) throw bad("unbalanced braces");
  return {
    pattern,
    render(v: LayoutValues): string {
      const t = new Date(Number(v.loadId.split(".")[0]));
      const time = Number.isNaN(t.getTime()) ? new Date(0) : t;
      const two = (n: number) => String(n).padStart(2, "0");
      const values: Record<Placeholder, string> = {
        dataset: v.dataset,
        table: v.table,
        load_id: v.loadId,
        file_id: v.fileId,
        ext: v.ext,
        YYYY: String(time.getUTCFullYear()),
        MM: two(time.getUTCMonth() + 1),
        DD: two(time.getUTCDate()),
        HH: two(time.getUTCHours()),
      };
      return pattern.replace(/\{([^}]*)\}/g, (_, p: Placeholder) => values[p]);
    },
  };
}
