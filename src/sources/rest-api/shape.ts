/**
 * A tiny shape language for config validation, so errors name the exact path and what is allowed. Keys that dlt
 * knows but ferry does not do are `refused` with the reason, never reported as unknown or silently dropped.
 */
export type Shape =
  | { kind: "string" | "number" | "boolean" | "function" | "any" }
  | { kind: "enum"; values: readonly string[]; refused?: Readonly<Record<string, string>> }
  | {
      kind: "object";
      fields: Record<string, Shape>;
      required?: readonly string[];
      refused?: Readonly<Record<string, string>>;
    }
  | { kind: "record"; value: Shape }
  | { kind: "array"; items: Shape }
  | { kind: "oneOf"; options: Shape[]; describe: string }
  | { kind: "nullable"; inner: Shape }
  | { kind: "custom"; check: (value: unknown, path: string, errors: string[]) => void };

export const str: Shape = { kind: "string" };
export const num: Shape = { kind: "number" };
export const bool: Shape = { kind: "boolean" };
export const any: Shape = { kind: "any" };
export const fn: Shape = { kind: "function" };
export const obj = (
  fields: Record<string, Shape>,
  required: string[] = [],
  refused: Record<string, string> = {},
): Shape & { kind: "object" } => ({ kind: "object", fields, required, refused });
export const strOrList: Shape = {
  kind: "oneOf",
  options: [str, { kind: "array", items: str }],
  describe: "a string or a list of strings",
};

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "function") return "a function";
  return typeof v === "object" ? "an object" : `${typeof v} ${JSON.stringify(v)}`;
}

/** Checks a value against a shape; each problem goes to `errors` with its path. */
export function check(value: unknown, shape: Shape, path: string, errors: string[]): void {
  switch (shape.kind) {
    case "any":
      return;
    case "custom":
      shape.check(value, path, errors);
      return;
    case "nullable":
      if (value !== null) check(value, shape.inner, path, errors);
      return;
    case "string":
    case "number":
    case "boolean":
    case "function":
      if (typeof value !== shape.kind)
        errors.push(`${path}: expected a ${shape.kind}, got ${typeName(value)}`);
      return;
    case "enum": {
      const why = typeof value === "string" && shape.refused ? shape.refused[value] : undefined;
      if (why) errors.push(`${path}: ${JSON.stringify(value)}: ${why}`);
      else if (typeof value !== "string" || !shape.values.includes(value)) {
        const shown = typeof value === "string" ? JSON.stringify(value) : typeName(value);
        errors.push(`${path}: ${shown} is not one of ${shape.values.join(", ")}`);
      }
      return;
    }
    case "array":
      if (!Array.isArray(value)) errors.push(`${path}: expected a list, got ${typeName(value)}`);
      else for (const [i, v] of value.entries()) check(v, shape.items, `${path}[${i}]`, errors);
      return;
    case "record":
      if (!isObject(value)) errors.push(`${path}: expected a mapping, got ${typeName(value)}`);
      else for (const [k, v] of Object.entries(value)) check(v, shape.value, `${path}.${k}`, errors);
      return;
    case "object": {
      if (!isObject(value)) {
        errors.push(`${path}: expected an object, got ${typeName(value)}`);
        return;
      }
      for (const k of Object.keys(value)) {
        const field = shape.fields[k];
        const why = shape.refused?.[k];
        if (why) errors.push(`${path}.${k}: ${why}`);
        else if (!field)
          errors.push(`${path}.${k}: unknown key; allowed: ${Object.keys(shape.fields).join(", ")}`);
        else if (value[k] !== undefined) check(value[k], field, `${path}.${k}`, errors);
      }
      for (const r of shape.required ?? [])
        if (value[r] === undefined) errors.push(`${path}.${r}: is required`);
      return;
    }
    case "oneOf": {
      for (const option of shape.options) {
        const sub: string[] = [];
        check(value, option, path, sub);
        if (sub.length === 0) return;
      }
      // Report the errors of the option whose basic type matches, else a summary.
      const matching = shape.options.find((o) => basicMatch(value, o));
      if (matching) check(value, matching, path, errors);
      else errors.push(`${path}: expected ${shape.describe}, got ${typeName(value)}`);
      return;
    }
  }
}

function basicMatch(value: unknown, shape: Shape): boolean {
  if (shape.kind === "object" || shape.kind === "record") return isObject(value);
  if (shape.kind === "array") return Array.isArray(value);
  if (shape.kind === "enum") return typeof value === "string";
  return shape.kind === typeof value;
}
