import type { HttpClient } from "../../http/client.js";
import type { ColumnHint } from "../../schema/types.js";
import { ConfigError } from "../../util/errors.js";

/** A property definition as the properties API gives it. */
export interface PropertyDef {
  name: string;
  /** `string`, `number`, `bool`, `date`, `datetime`, `enumeration`, `phone_number`, ... */
  type: string;
}

/** Record fields of the API itself: a property of the same name is loaded as `property_<name>`. */
export const RESERVED = new Set(["id", "createdAt", "updatedAt", "archived", "archivedAt", "associations"]);

/** Every property of an object type (`GET /crm/v3/properties/{objectType}`). */
export async function discoverProperties(http: HttpClient, objectType: string): Promise<PropertyDef[]> {
  const res = await http.request({ method: "GET", url: `crm/v3/properties/${objectType}` });
  const results = (res.json() as { results?: PropertyDef[] } | null)?.results ?? [];
  return results.filter((p) => typeof p?.name === "string");
}

/** The properties to load: all discovered ones, or the ones listed (each must exist). */
export function chooseProperties(objectType: string, all: PropertyDef[], wanted?: string[]): PropertyDef[] {
  if (!wanted) return all;
  const missing = wanted.filter((w) => !all.some((p) => p.name === w));
  if (missing.length > 0) {
    throw new ConfigError(
      `hubspot: properties.${objectType} names ${missing.map((m) => `"${m}"`).join(", ")}, which ${objectType} do not have`,
      {
        hint: `properties of ${objectType}: ${all
          .map((p) => p.name)
          .slice(0, 40)
          .join(", ")}${all.length > 40 ? ", ..." : ""}`,
      },
    );
  }
  return all.filter((p) => wanted.includes(p.name));
}

/** The column a property loads into. */
export const columnOf = (name: string) => (RESERVED.has(name) ? `property_${name}` : name);

/**
 * Column types from property types, so a column's type does not depend on the first value seen: numbers are
 * doubles, booleans bools, dates and date-times dates and timestamps, everything else text (HubSpot sends every
 * value as a string).
 */
export function columnHints(props: PropertyDef[]): Record<string, ColumnHint> {
  const out: Record<string, ColumnHint> = {
    id: { type: "text" },
    createdAt: { type: "timestamp" },
    updatedAt: { type: "timestamp" },
    archivedAt: { type: "timestamp" },
    archived: { type: "bool" },
  };
  for (const p of props) {
    const type =
      p.type === "number"
        ? "double"
        : p.type === "bool"
          ? "bool"
          : p.type === "date"
            ? "date"
            : p.type === "datetime"
              ? "timestamp"
              : "text";
    out[columnOf(p.name)] = { type };
  }
  return out;
}

const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/**
 * A property's value for its column: numbers and booleans from their text, empty strings of typed properties as
 * null. A value that does not parse stays text (it lands in a variant column, nothing is dropped).
 */
export function convertValue(type: string | undefined, v: unknown): unknown {
  if (typeof v !== "string") return v;
  switch (type) {
    case "number":
      if (v === "") return null;
      return NUMBER.test(v.trim()) ? Number(v) : v;
    case "bool":
      return v === "true" ? true : v === "false" ? false : v === "" ? null : v;
    case "date":
    case "datetime":
      // Some portals hold dates as epoch milliseconds.
      if (v === "") return null;
      if (/^\d{10,13}$/.test(v)) {
        const iso = new Date(Number(v)).toISOString();
        return type === "date" ? iso.slice(0, 10) : iso;
      }
      return v;
    default:
      return v;
  }
}
