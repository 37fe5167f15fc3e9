import { ConfigError } from "../../../util/errors.js";
import type {
  MaintenanceResult,
  OptimizeOptions,
  TableMaintenance,
  VacuumOptions,
} from "../../destination.js";
import type { SqlConnection } from "../../sql/sql-connection.js";
import type { DeltaTables } from "./delta-tables.js";
import { checkRetention, DEFAULT_RETENTION_HOURS, optimizeTable, vacuumTable } from "./maintenance.js";

/** What maintenance of a dataset's Delta tables needs from its client. */
export interface DeltaMaintenanceParts {
  delta: DeltaTables;
  dataset: string;
  /** The dataset's Delta tables (from its load markers). */
  tables(): Promise<string[]>;
  engine(): Promise<SqlConnection>;
  /** Called before and after: cached views and markers are stale. */
  changed(): void;
}

/**
 * `optimize` and `vacuum` of a dataset's Delta tables (see `optimizeTable`, `vacuumTable`). Tables named in the
 * options must be Delta tables of the dataset; by default all of them.
 *
 * @example
 * const results = await new DeltaMaintenance(parts).vacuum({ retentionHours: 168 });
 */
export class DeltaMaintenance implements TableMaintenance {
  readonly #p: DeltaMaintenanceParts;

  constructor(parts: DeltaMaintenanceParts) {
    this.#p = parts;
  }

  tables(): Promise<string[]> {
    return this.#p.tables();
  }

  optimize(o: OptimizeOptions = {}): Promise<MaintenanceResult[]> {
    const { delta } = this.#p;
    return this.#each(o.tables, async (name) =>
      optimizeTable(delta.ctx, await this.#p.engine(), delta.table(name), {
        compression: delta.settings.compression,
        targetFileSize: o.targetFileSize ?? delta.settings.targetFileSize,
      }),
    );
  }

  async vacuum(o: VacuumOptions = {}): Promise<MaintenanceResult[]> {
    const retentionHours = o.retentionHours ?? DEFAULT_RETENTION_HOURS;
    checkRetention(retentionHours, o.force);
    return this.#each(o.tables, (name) =>
      vacuumTable(this.#p.delta.ctx, this.#p.delta.table(name), {
        retentionHours,
        ...(o.dryRun ? { dryRun: true } : {}),
      }),
    );
  }

  async #each(
    tables: string[] | undefined,
    fn: (table: string) => Promise<MaintenanceResult>,
  ): Promise<MaintenanceResult[]> {
    const delta = await this.#p.tables();
    const names = tables ?? delta;
    const other = names.filter((n) => !delta.includes(n));
    if (other.length > 0) {
      throw new ConfigError(`not Delta tables of dataset "${this.#p.dataset}": ${other.join(", ")}`, {
        hint: delta.length > 0 ? `its Delta tables: ${delta.join(", ")}` : "the dataset has no Delta tables",
      });
    }
    this.#p.changed();
    try {
      const out: MaintenanceResult[] = [];
      for (const name of names) out.push(await fn(name));
      return out;
    } finally {
      this.#p.changed();
    }
  }
}
