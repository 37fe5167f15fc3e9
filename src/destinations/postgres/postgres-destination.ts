import { shortenIdentifier } from "../../schema/naming.js";
import { ConfigError } from "../../util/errors.js";
import type {
  ConnectOptions,
  Destination,
  DestinationCapabilities,
  DestinationClient,
} from "../destination.js";
import { columnsByTable } from "../sql/ddl.js";
import { type SqlDriver, SqlLoadClient } from "../sql/sql-load-client.js";
import { copyTextChunks } from "./copy-text.js";
import { PostgresConnection } from "./postgres-connection.js";
import { POSTGRES_MAX_IDENTIFIER, postgresDialect } from "./postgres-dialect.js";
import { isTransientPostgresError } from "./postgres-errors.js";
import { parsePostgresUrl } from "./postgres-url.js";

/**
 * What the Postgres destination can do: 63-byte identifiers, transactions, both merge strategies, SQL access.
 *
 * @example
 * postgresCapabilities.maxIdentifierLength // 63
 */
export const postgresCapabilities: DestinationCapabilities = Object.freeze({
  maxIdentifierLength: POSTGRES_MAX_IDENTIFIER,
  supportsTransactions: true,
  supportsMerge: true,
  mergeStrategies: ["delete-insert", "upsert"] as const,
  preferredFileFormat: "jsonl" as const,
  supportedFileFormats: ["jsonl"] as const,
  supportsSql: true,
});

/**
 * The staging schema of a dataset: `<dataset>_staging`, shortened to 63 bytes when needed.
 *
 * @example
 * stagingSchema("github") // "github_staging"
 */
export function stagingSchema(dataset: string): string {
  return shortenIdentifier(`${dataset}_staging`, POSTGRES_MAX_IDENTIFIER);
}

const q = postgresDialect.quoteIdent;

const driver: SqlDriver<PostgresConnection> = {
  dialect: postgresDialect,
  capabilities: postgresCapabilities,
  staging: { kind: "schema", schemaOf: stagingSchema, tableKind: "UNLOGGED" },
  loaders: {
    jsonl: {
      batch: false,
      async load(conn, [job], target, columns, extra) {
        if (!job) return 0;
        const all = [...columns, ...extra];
        const sql = `COPY ${target} (${all.map((c) => q(c.name)).join(", ")}) FROM STDIN`;
        return conn.copyFrom(sql, copyTextChunks({ path: job.path, table: job.table, job: job.id }, all));
      },
    },
  },
  async existingColumns(conn, dataset) {
    const rows = await conn.query(
      `SELECT c.relname AS table_name, a.attname AS column_name
         FROM pg_catalog.pg_class c
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY c.relname, a.attnum`,
      [dataset],
    );
    return columnsByTable(rows);
  },
  isTransient: isTransientPostgresError,
};

/**
 * Options of `postgres()`.
 *
 * @example
 * postgres({ url: "postgres://etl:pw@db:5432/dw?sslmode=require", connectTimeoutSeconds: 5 })
 */
export interface PostgresOptions {
  /** `postgres://user:password@host:port/database` (or `postgresql://`); query parameters go to pg (sslmode...). */
  url: string;
  /** Seconds to wait for a connection (default 15). */
  connectTimeoutSeconds?: number;
}

/**
 * A Postgres database as destination. A dataset is a schema; merges stage rows in `<dataset>_staging`; loads
 * stream `COPY ... FROM STDIN`; each package commits in one transaction with its state and `_ferry_loads` row.
 *
 * @example
 * pipeline({ name: "gh", destination: postgres({ url: "postgres://etl:pw@db:5432/dw" }) })
 * pipeline({ name: "gh", destination: "postgres://etl:pw@db:5432/dw" })   // the same, by URL
 */
export function postgres(options: PostgresOptions): Destination {
  const parsed = parsePostgresUrl(options.url);
  const { host, port, database, user } = parsed.target;
  return {
    name: "postgres",
    capabilities: postgresCapabilities,
    description: `postgres://${user}@${host}:${port}/${database}`,
    url: parsed.safeUrl,
    async connect(opts: ConnectOptions): Promise<DestinationClient> {
      const ds = opts.dataset;
      if (Buffer.byteLength(ds) > POSTGRES_MAX_IDENTIFIER || ds.includes("\0") || /^pg_/i.test(ds)) {
        throw new ConfigError(
          `dataset name "${ds}" cannot be a Postgres schema: at most ${POSTGRES_MAX_IDENTIFIER} bytes, no NUL characters, not starting with "pg_" (reserved)`,
          { hint: "pass another `dataset` to pipeline()" },
        );
      }
      const conn = await PostgresConnection.open(
        {
          connectionString: parsed.connectionString,
          target: parsed.target,
          ...(options.connectTimeoutSeconds !== undefined
            ? { connectTimeoutSeconds: options.connectTimeoutSeconds }
            : {}),
        },
        opts.logger,
      );
      return new SqlLoadClient(conn, driver, opts.dataset, opts.logger);
    },
  };
}
