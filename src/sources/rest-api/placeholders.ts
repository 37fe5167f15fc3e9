/** `{resources.<parent>.<field>}` and `{incremental.start_value}` / `{incremental.end_value}` placeholders. */
const PLACEHOLDER = /\{(resources\.[^{}.]+\.[^{}]+|incremental\.(?:start_value|end_value))\}/g;

export interface PlaceholderValues {
  /** The parent item of a dependent request. */
  parent?: Record<string, unknown>;
  start_value?: unknown;
  end_value?: unknown;
}

export interface ParentRef {
  resource: string;
  field: string;
}

/** Parent references in a value (strings, nested objects and lists). */
export function findParentRefs(value: unknown, out: ParentRef[] = []): ParentRef[] {
  if (typeof value === "string") {
    for (const m of value.matchAll(PLACEHOLDER)) {
      const expr = m[1] ?? "";
      if (expr.startsWith("resources.")) {
        const [, resource = "", ...field] = expr.split(".");
        out.push({ resource, field: field.join(".") });
      }
    }
  } else if (Array.isArray(value)) for (const v of value) findParentRefs(v, out);
  else if (value && typeof value === "object") for (const v of Object.values(value)) findParentRefs(v, out);
  return out;
}

export function usesIncremental(value: unknown): boolean {
  if (typeof value === "string") return /\{incremental\.(start_value|end_value)\}/.test(value);
  if (Array.isArray(value)) return value.some(usesIncremental);
  if (value && typeof value === "object") return Object.values(value).some(usesIncremental);
  return false;
}

function lookup(expr: string, values: PlaceholderValues): unknown {
  if (expr === "incremental.start_value") return values.start_value;
  if (expr === "incremental.end_value") return values.end_value;
  const [, , ...field] = expr.split(".");
  let cur: unknown = values.parent;
  for (const part of field) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function asText(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  return typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
}

/**
 * Fills placeholders. A string that is exactly one placeholder keeps the value's type (numbers stay numbers in
 * JSON bodies); in paths (`encode`), values are URL-encoded. Missing values throw with the placeholder named.
 */
export function fill(value: unknown, values: PlaceholderValues, encode = false): unknown {
  if (typeof value === "string") {
    const whole = /^\{([^{}]+)\}$/.exec(value);
    if (whole && !encode && PLACEHOLDER.test(value)) {
      PLACEHOLDER.lastIndex = 0;
      return required(whole[1] ?? "", values);
    }
    PLACEHOLDER.lastIndex = 0;
    return value.replace(PLACEHOLDER, (_m, expr: string) => {
      const v = required(expr, values);
      const text = v === undefined ? "" : asText(v);
      return encode ? encodeURIComponent(text) : text;
    });
  }
  if (Array.isArray(value)) return value.map((v) => fill(v, values, encode));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, values, encode)]));
  }
  return value;
}

function required(expr: string, values: PlaceholderValues): unknown {
  const v = lookup(expr, values);
  if (v === undefined || v === null) {
    // An unset start/end value leaves the parameter out (or empty inside a longer string).
    if (expr.startsWith("incremental.")) return undefined;
    throw new Error(`placeholder {${expr}} has no value in the parent record`);
  }
  return v;
}
