import { FerryError } from "../util/errors.js";

/** A statement the dashboard's SQL box does not run (it could write). */
export class SqlRefusedError extends FerryError {
  override readonly code = "sql_refused";
}

/** Words that start a statement that only reads. */
const READING_STARTS = new Set([
  "select",
  "with",
  "values",
  "table",
  "from",
  "show",
  "describe",
  "explain",
  "summarize",
]);

/** Words that, anywhere in a statement (outside strings and comments), mean it writes. */
// Only words no reading statement holds as a keyword: column names such as `set` (PostHog's events) stay readable,
// and a quoted identifier ("update") is never a word here.
const WRITING_WORDS = new Set([
  "insert",
  "update",
  "delete",
  "merge",
  "upsert",
  "create",
  "drop",
  "alter",
  "truncate",
  "copy",
  "attach",
  "detach",
  "install",
  "pragma",
  "grant",
  "revoke",
  "vacuum",
  "checkpoint",
  "export",
  "import",
  "commit",
  "rollback",
  "into",
  "returning",
]);

/** The message the dashboard's SQL box shows when a statement is refused. */
export const READ_ONLY_REFUSAL =
  "only reading statements run here (SELECT, WITH, VALUES, SHOW, DESCRIBE, EXPLAIN)";

/**
 * The statement's words outside string literals, quoted identifiers and comments, lower-cased; and how many
 * statements it holds (a `;` followed by more text starts another).
 */
function scan(sql: string): { words: string[]; statements: number } {
  const words: string[] = [];
  let statements = 0;
  let sawText = false;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (c === "-" && next === "-") {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === "/" && next === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === "'" || c === '"' || c === "`") {
      // doubled quotes escape themselves, so skipping to the next quote and going on works for both
      const end = sql.indexOf(c, i + 1);
      i = end < 0 ? sql.length : end + 1;
      sawText = true;
    } else if (c === "$" && /^\$[A-Za-z_]*\$/.test(sql.slice(i))) {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0] as string;
      const end = sql.indexOf(tag, i + tag.length);
      i = end < 0 ? sql.length : end + tag.length;
      sawText = true;
    } else if (c === ";") {
      if (sawText) statements++;
      sawText = false;
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(sql.slice(i))?.[0] as string;
      words.push(m.toLowerCase());
      i += m.length;
      sawText = true;
    } else {
      if (!/\s/.test(c)) sawText = true;
      i++;
    }
  }
  if (sawText) statements++;
  return { words, statements };
}

/**
 * Refuses SQL that is not one reading statement, with the word that made it refuse. This is the first of two
 * guards: the dashboard also runs what passes inside a read-only transaction where the destination has one.
 *
 * @example
 * checkReadOnly("select count(*) from issues"); // "select" (the first word)
 * checkReadOnly("drop table issues"); // throws: refused: DROP writes; only reading statements run here (...)
 */
export function checkReadOnly(sql: string): string {
  const { words, statements } = scan(sql);
  if (statements === 0) throw new SqlRefusedError("the SQL box is empty", { hint: "type a SELECT" });
  if (statements > 1)
    throw new SqlRefusedError(`refused: ${statements} statements; ${READ_ONLY_REFUSAL}, one at a time`);
  const first = words[0] ?? "";
  if (!READING_STARTS.has(first))
    throw new SqlRefusedError(
      `refused: ${first.toUpperCase() || "this statement"} is not a reading statement; ${READ_ONLY_REFUSAL}`,
    );
  const writing = words.find((w) => WRITING_WORDS.has(w));
  if (writing)
    throw new SqlRefusedError(
      `refused: ${writing.toUpperCase()} writes or changes the session; ${READ_ONLY_REFUSAL}`,
    );
  return first;
}
