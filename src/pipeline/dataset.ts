import type { Destination, DestinationClient, QueryRow } from "../destinations/destination.js";
import { brand, isKind } from "../util/brand.js";
import { ConfigError } from "../util/errors.js";
import type { Logger } from "../util/log.js";

/**
 * Read access to a pipeline's loaded data. Each call opens the destination and closes it again, so an
 * embedded database is never kept locked between calls.
 *
 * @example
 * const rows = await p.dataset().sql("select count(*) as n from issues");
 * const issues = await p.dataset().table("issues", { limit: 10 });
 */
export class Dataset {
  readonly #resolve: () => Promise<Destination>;
  readonly #dataset: string;
  readonly #pipelineName: string;
  readonly #log: Logger;

  constructor(destination: () => Promise<Destination>, dataset: string, pipelineName: string, log: Logger) {
    this.#resolve = destination;
    this.#dataset = dataset;
    this.#pipelineName = pipelineName;
    this.#log = log;
  }

  get name(): string {
    return this.#dataset;
  }

  /** Runs SQL with the dataset as the default schema. `$1`-style parameters are bound, never interpolated. */
  async sql(query: string, params?: unknown[]): Promise<QueryRow[]> {
    const destination = await this.#resolve();
    if (!destination.capabilities.supportsSql) {
      throw new ConfigError(`destination ${destination.name} cannot run SQL`, {
        hint: "use table() instead",
      });
    }
    return this.#with((c) => c.sql(query, params));
  }

  /** Reads a table's rows (ordered by `orderBy` if given). */
  async table(name: string, options: { limit?: number; orderBy?: string } = {}): Promise<QueryRow[]> {
    return this.#with((c) => c.readTable(name, options));
  }
  /** Names of the tables in the dataset (system tables included). */
  async tables(): Promise<string[]> {
    return this.#with((c) => c.listTables());
  }

  async #with<T>(fn: (c: DestinationClient) => Promise<T>): Promise<T> {
    const client = await (await this.#resolve()).connect({
      dataset: this.#dataset,
      pipelineName: this.#pipelineName,
      logger: this.#log,
    });
    try {
      return await fn(client);
    } finally {
      await client.close();
    }
  }
}
brand(Dataset, "dataset");

/** True for datasets, also those of another copy of the package. */
export const isDataset = (x: unknown): x is Dataset => isKind(x, "dataset");
