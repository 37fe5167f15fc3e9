/**
 * Placeholders in paths, params, headers and bodies, read as dlt reads them (Python's str.format): `{expr}` is a
 * placeholder, `{{` and `}}` are literal braces. Expressions: `resources.<parent>.<field path>`,
 * `incremental.<value>`, and in paths a bare name bound by `params`.
 */

/** A piece of a template: literal text, or a placeholder expression. */
export type TemplatePart = { text: string } | { expr: string };

/** Why a string is not a template (a lone brace, a format spec). */
export class TemplateError extends Error {}

/**
 * Splits a string into literal text and placeholders.
 *
 * @example
 * parseTemplate("issues/{resources.issues.number}/c") // [{text:"issues/"}, {expr:"resources.issues.number"}, {text:"/c"}]
 * parseTemplate("{{literal}}") // [{ text: "{literal}" }]
 */
export function parseTemplate(s: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = "";
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === "{" && s[i + 1] === "{") {
      text += "{";
      i += 2;
    } else if (c === "}" && s[i + 1] === "}") {
      text += "}";
      i += 2;
    } else if (c === "}") {
      throw new TemplateError(`a single "}" at position ${i}; write "}}" for a literal brace`);
    } else if (c === "{") {
      const end = s.indexOf("}", i);
      const inner = end < 0 ? "" : s.slice(i + 1, end);
      if (end < 0 || inner.includes("{")) {
        throw new TemplateError(
          `a "{" at position ${i} starts no placeholder; write "{{" for a literal brace`,
        );
      }
      if (inner.trim() === "")
        throw new TemplateError(`an empty placeholder "{}"; write "{{}}" for literal braces`);
      const head = inner.replace(/\[[^\]]*\]/g, "[]").split(/[!:]/)[0] ?? "";
      if (!/^\s*[\w@$-]+(\.[\w@$-]+|\[\])*\s*$/.test(head)) {
        throw new TemplateError(`"{${inner}}" is not a placeholder; write "{{" and "}}" for literal braces`);
      }
      if (/[!:]/.test(inner.replace(/\[[^\]]*\]/g, "[]"))) {
        throw new TemplateError(`"{${inner}}" has a format spec or conversion, which ferry does not apply`);
      }
      if (text) parts.push({ text });
      text = "";
      parts.push({ expr: inner.trim() });
      i = end + 1;
    } else {
      text += c;
      i++;
    }
  }
  if (text) parts.push({ text });
  return parts;
}

/** The placeholder expressions in a value (strings, and the keys and values of objects and lists). */
export function expressionsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") {
    for (const p of parseTemplate(value)) if ("expr" in p) out.push(p.expr);
  } else if (Array.isArray(value)) for (const v of value) expressionsIn(v, out);
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      expressionsIn(k, out);
      expressionsIn(v, out);
    }
  }
  return out;
}

/** What a placeholder expression means. */
export type Expression =
  | { kind: "parent"; resource: string; field: string }
  | { kind: "incremental"; name: string }
  | { kind: "name"; name: string }
  | { kind: "invalid"; problem: string };

/** The values `{incremental.<name>}` can take. */
export const INCREMENTAL_VALUES = [
  "start_value",
  "initial_value",
  "last_value",
  "end_value",
  "lag",
  "cursor_path",
  "last_value_func",
  "on_cursor_value_missing",
] as const;

/** Reads an expression (`resources.issues.number`, `incremental.start_value`, `issue_id`). */
export function classify(expr: string): Expression {
  if (expr.startsWith("resources.")) {
    const [, resource = "", ...field] = expr.split(".");
    if (!resource || field.length === 0 || field.join(".") === "") {
      return { kind: "invalid", problem: `{${expr}} must be {resources.<resource>.<field>}` };
    }
    return { kind: "parent", resource, field: field.join(".") };
  }
  if (expr.startsWith("incremental.")) {
    const name = expr.slice("incremental.".length);
    if (!(INCREMENTAL_VALUES as readonly string[]).includes(name)) {
      return {
        kind: "invalid",
        problem: `{${expr}} is not an incremental value; use one of ${INCREMENTAL_VALUES.map((v) => `{incremental.${v}}`).join(", ")}`,
      };
    }
    return { kind: "incremental", name };
  }
  if (/^\w+$/.test(expr)) return { kind: "name", name: expr };
  return {
    kind: "invalid",
    problem: `{${expr}} is not a placeholder ferry knows: use {resources.<resource>.<field>} or {incremental.<value>}; write {{ and }} for literal braces`,
  };
}

/** Resolves an expression to its value (undefined: it has none). */
export type Lookup = (expr: string) => unknown;

/** Why a placeholder's value cannot go where it stands. */
export class PlaceholderError extends Error {}

/** A value as text in a path, parameter or header. */
export function asText(expr: string, v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  throw new PlaceholderError(
    `placeholder {${expr}} is ${JSON.stringify(v)}, not a text or number value; point it at a scalar field`,
  );
}

/**
 * Fills a string template. A string that is one placeholder alone returns the value itself when `keepType`
 * (JSON bodies keep numbers as numbers); `encode` URL-encodes values (paths). A placeholder without a value makes
 * the whole result undefined (the caller leaves the parameter out) unless `required`.
 */
export function fillString(
  s: string,
  lookup: Lookup,
  opts: { keepType?: boolean; encode?: boolean } = {},
): unknown {
  const parts = parseTemplate(s);
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only && "expr" in only) {
    const v = lookup(only.expr);
    if (v === undefined) return undefined;
    if (opts.keepType) return v instanceof Date ? v.toISOString() : v;
    const text = asText(only.expr, v);
    return opts.encode ? encodeURIComponent(text) : text;
  }
  let out = "";
  for (const p of parts) {
    if ("text" in p) {
      out += p.text;
      continue;
    }
    const v = lookup(p.expr);
    if (v === undefined) {
      throw new PlaceholderError(`placeholder {${p.expr}} has no value to put into "${s}"`);
    }
    const text = asText(p.expr, v);
    out += opts.encode ? encodeURIComponent(text) : text;
  }
  return out;
}

/**
 * Fills every string (object keys included) of a value. Entries whose whole value is a placeholder without a
 * value are left out (as a None parameter is), or are null in a JSON body (`keepType`).
 */
export function fillValue(value: unknown, lookup: Lookup, keepType: boolean): unknown {
  if (typeof value === "string") return fillString(value, lookup, { keepType });
  if (Array.isArray(value)) return value.map((v) => fillValue(v, lookup, keepType));
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      let filled = fillValue(v, lookup, keepType);
      if (filled === undefined) {
        if (!keepType) continue;
        filled = null; // a JSON body keeps the key, as null
      }
      const key = fillString(k, lookup);
      if (key === undefined) throw new PlaceholderError(`the key "${k}" has a placeholder without a value`);
      out[key as string] = filled;
    }
    return out;
  }
  return value;
}
