/**
 * Brands: how ferry recognises its own public classes and errors, also when they come from another copy of the
 * package. A user module that resolves its own `node_modules/ferry`, or one compiled by tsx, gets classes of its
 * own, so `instanceof` fails across copies. A brand is a property under a registered symbol (`Symbol.for`), which
 * every copy in the process shares; it lives on the class's prototype, so subclasses inherit it and spreading an
 * instance does not copy it.
 *
 * Every public class is branded right after its declaration and gets a guard next to it; errors share the brand
 * `error` and are told apart by their `code` (`isFerryError(err, "config")` in `errors.ts`).
 *
 * @example
 * export class JsonLines { ... }
 * brand(JsonLines, "json_lines");
 * export const isJsonLines = (x: unknown): x is JsonLines => isKind(x, "json_lines");
 */
export const FERRY_KIND: unique symbol = Symbol.for("ferry.kind");

/** The branded kinds: one per public class (all errors share `error`). Never rename one: older copies use them. */
export type Kind = "pipeline" | "source" | "resource" | "dataset" | "json_lines" | "typed_csv_file" | "error";

/** Brands the instances of `cls` (and of its subclasses) as `kind`. */
// biome-ignore lint/suspicious/noExplicitAny: any constructor signature, abstract or not
export function brand(cls: abstract new (...args: any[]) => object, kind: Kind): void {
  Object.defineProperty(cls.prototype, FERRY_KIND, { value: kind, enumerable: false });
}

/** The brand of `x`, or undefined for anything that is not a branded ferry object. */
export function kindOf(x: unknown): string | undefined {
  if (typeof x !== "object" || x === null) return undefined;
  const k = (x as { [FERRY_KIND]?: unknown })[FERRY_KIND];
  return typeof k === "string" ? k : undefined;
}

/** True when `x` carries the brand `kind`, whichever copy of ferry made it. */
export function isKind(x: unknown, kind: Kind): boolean {
  return kindOf(x) === kind;
}
