import { stringify } from "yaml";
import type { StoredSchema } from "../schema/types.js";

/** The schema as users read it: tables with their hints first, then columns by name (no repeated names). */
export function schemaToYaml(schema: StoredSchema): string {
  const tables: Record<string, unknown> = {};
  for (const t of Object.values(schema.tables)) {
    const { name: _n, columns, ...hints } = t;
    const cols: Record<string, unknown> = {};
    for (const c of Object.values(columns)) {
      const { name: _c, origin, ...rest } = c;
      // origin "" marks ferry's own columns; other origins name the source key the column came from.
      cols[c.name] =
        origin === "" ? { ...rest, system: true } : origin === undefined ? rest : { ...rest, origin };
    }
    tables[t.name] = { ...hints, columns: cols };
  }
  return stringify(
    {
      name: schema.name,
      version: schema.version,
      version_hash: schema.versionHash,
      engine_version: schema.engineVersion,
      tables,
    },
    { lineWidth: 0 },
  ).trimEnd();
}
