import type { Destination } from "../destinations/destination.js";
import { ConfigError } from "../util/errors.js";
import { redactSecrets } from "../util/log.js";

type Factory = (rest: string, pipelineName: string) => Promise<Destination>;

/** URL schemes and the (lazily imported) destinations they open. Data, not branches. */
const FACTORIES: Record<string, Factory> = {
  duckdb: async (rest, pipelineName) => {
    const { duckdb } = await import("../destinations/duckdb/index.js");
    const path = rest.replace(/^\/\/(?=\/)/, "");
    return duckdb({ path: path === "" ? `${pipelineName}.duckdb` : path });
  },
  postgres: async (rest) => {
    const { postgres } = await import("../destinations/postgres/index.js");
    return postgres({ url: `postgres:${rest}` });
  },
  postgresql: async (rest) => {
    const { postgres } = await import("../destinations/postgres/index.js");
    return postgres({ url: `postgresql:${rest}` });
  },
  ...Object.fromEntries(
    ["clickhouse", "clickhouses"].map((scheme): [string, Factory] => [
      scheme,
      async (rest) => {
        const { clickhouse } = await import("../destinations/clickhouse/index.js");
        return clickhouse({ url: `${scheme}:${rest}` });
      },
    ]),
  ),
  ...Object.fromEntries(
    ["file", "s3", "gs", "az"].map((scheme): [string, Factory] => [
      scheme,
      async (rest) => {
        const { filesystem } = await import("../destinations/filesystem/index.js");
        return filesystem({ url: `${scheme}:${rest}` });
      },
    ]),
  ),
};

/**
 * Resolves a destination URL: `duckdb` (file `<pipeline>.duckdb` in the working directory),
 * `duckdb:path/file.duckdb`, `duckdb:///abs/file.duckdb`, `duckdb::memory:`,
 * `postgres://user:password@host:port/database` (or `postgresql://`),
 * `clickhouse://user:password@host:8123/database` (or `clickhouses://` for TLS), and files: `file:///abs/dir`,
 * `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix` (`?format=parquet|jsonl|csv&layout=...`).
 *
 * @example
 * const d = await resolveDestination("postgres://etl:pw@127.0.0.1:5432/dw", "gh");
 */
export async function resolveDestination(
  spec: string | Destination,
  pipelineName: string,
): Promise<Destination> {
  if (typeof spec !== "string") return spec;
  const m = /^([a-z][a-z0-9+.-]*)(?::(.*))?$/is.exec(spec.trim());
  const scheme = m?.[1]?.toLowerCase();
  const factory = scheme ? FACTORIES[scheme] : undefined;
  if (!factory || !m) {
    throw new ConfigError(`unknown destination "${redactSecrets(spec)}"`, {
      hint: `use one of: ${Object.keys(FACTORIES)
        .map((k) => `${k}:...`)
        .join(", ")} (other destinations arrive with their own packages)`,
    });
  }
  return factory(m[2] ?? "", pipelineName);
}
