import type { ContractMode, SchemaContract, SchemaContractSetting } from "./types.js";

export interface ResolvedContract {
  tables: ContractMode;
  columns: ContractMode;
  data_type: ContractMode;
}

const MODES: readonly ContractMode[] = ["evolve", "freeze", "discard_row", "discard_value"];

/**
 * Expands a contract setting. A single mode applies to all three entities; an object fills the missing ones
 * with `evolve`. A per-run setting wins over the resource's own.
 *
 * @example resolveContract("freeze") // { tables: "freeze", columns: "freeze", data_type: "freeze" }
 */
export function resolveContract(...settings: (SchemaContractSetting | undefined)[]): ResolvedContract {
  const out: ResolvedContract = { tables: "evolve", columns: "evolve", data_type: "evolve" };
  for (const s of settings) {
    if (s === undefined) continue;
    if (typeof s === "string") {
      assertMode(s);
      out.tables = s;
      out.columns = s;
      out.data_type = s;
      continue;
    }
    for (const key of ["tables", "columns", "data_type"] as const) {
      const m = (s as SchemaContract)[key];
      if (m !== undefined) {
        assertMode(m);
        out[key] = m;
      }
    }
  }
  return out;
}

function assertMode(m: string): asserts m is ContractMode {
  if (!MODES.includes(m as ContractMode)) {
    throw new TypeError(`unknown schema contract mode "${m}"; use one of ${MODES.join(", ")}`);
  }
}
