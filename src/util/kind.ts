/** Brand on ferry's public classes, so a value made by another copy of the package is still recognised. */
export const FERRY_KIND: unique symbol = Symbol.for("ferry.kind");

export function kindOf(x: unknown): string | undefined {
  if (typeof x !== "object" || x === null) return undefined;
  const k = (x as { [FERRY_KIND]?: unknown })[FERRY_KIND];
  return typeof k === "string" ? k : undefined;
}
