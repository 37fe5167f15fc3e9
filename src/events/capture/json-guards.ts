/**
 * Checks on request JSON that keep the rest of the pipeline safe: a nesting limit (JSON.stringify, the event log and the
 * destinations recurse; 10,000 levels would overflow their stacks) and the repair of lone UTF-16 surrogates (`"\ud800"`
 * escapes parse to strings that Postgres and DuckDB refuse).
 */

/** PostHog's limit: serde_json refuses JSON nested deeper than 128 levels. */
export const MAX_JSON_DEPTH = 128;

/**
 * True when the JSON text nests arrays/objects deeper than `max` levels. Reads the text once; strings are skipped
 * with native searches, so this costs little next to JSON.parse.
 *
 * @example
 * nestingExceeds('{"a":[[1]]}', 2); // true
 */
export function nestingExceeds(text: string, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i = endOfString(text, i);
      if (i < 0) return false; // unterminated: JSON.parse reports it
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) return true;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      depth--;
    }
  }
  return false;
}

function endOfString(text: string, start: number): number {
  let j = start;
  for (;;) {
    j = text.indexOf('"', j + 1);
    if (j < 0) return -1;
    let backslashes = 0;
    for (let k = j - 1; text.charCodeAt(k) === 92; k--) backslashes++;
    if ((backslashes & 1) === 0) return j;
  }
}

/**
 * True when the text may hold a surrogate escape (`\uD800`-`\uDFFF`), the only way JSON text can carry a lone
 * surrogate (raw ones are not valid UTF-8 and were refused before).
 */
export function mayHoldSurrogates(text: string): boolean {
  let at = text.indexOf("\\u");
  while (at >= 0) {
    const c = text.charCodeAt(at + 2) | 0x20; // lower case
    const d = text.charCodeAt(at + 3) | 0x20;
    if (c === 100 /* d */ && ((d >= 56 && d <= 57) /* 8 9 */ || (d >= 97 && d <= 102)) /* a-f */) return true;
    at = text.indexOf("\\u", at + 2);
  }
  return false;
}

/**
 * Replaces lone surrogates in every string (values and keys) with U+FFFD, as PostHog's capture does, so that the
 * event can be stored anywhere. Returns the repaired value (objects are repaired in place; a key that changes is
 * moved). Depth is bounded by the nesting check done first.
 *
 * @example
 * repairSurrogates({ a: "x\ud800" }); // { a: "x\ufffd" }
 */
export function repairSurrogates(value: unknown): unknown {
  if (typeof value === "string") return value.isWellFormed() ? value : value.toWellFormed();
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = repairSurrogates(value[i]);
    return value;
  }
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      const repaired = repairSurrogates(obj[key]);
      if (key.isWellFormed()) obj[key] = repaired;
      else {
        delete obj[key];
        obj[key.toWellFormed()] = repaired;
      }
    }
  }
  return value;
}
