import { connect } from "node:net";

/** The servers `scripts/services.sh up` starts for integration tests. */
export type ServiceName =
  | "postgres"
  | "mysql"
  | "s3"
  | "azure"
  | "gcs"
  | "stripe-mock"
  | "clickhouse"
  | "chdb"
  | "temporal";

interface ServiceSpec {
  /** The scripts/services/<file>.sh that starts it. */
  script: string;
  /** The variables to set instead of the defaults (what `scripts/services.sh env` prints). */
  vars: string[];
  /** Connection URL / store URL, the address to probe, and the environment a store reads. */
  resolve(env: NodeJS.ProcessEnv): { url: string; probe: URL; env: Record<string, string> };
}

const get = (env: NodeJS.ProcessEnv, name: string, fallback: string) => env[name] ?? fallback;

const SPECS: Record<ServiceName, ServiceSpec> = {
  postgres: {
    script: "postgres",
    vars: ["FERRY_TEST_POSTGRES_URL"],
    resolve: (e) => {
      const url = get(e, "FERRY_TEST_POSTGRES_URL", "postgres://ferry:ferry@127.0.0.1:55432/ferry_test");
      return { url, probe: withPort(url, 5432), env: {} };
    },
  },
  mysql: {
    script: "mariadb",
    vars: ["FERRY_TEST_MYSQL_URL"],
    resolve: (e) => {
      const url = get(e, "FERRY_TEST_MYSQL_URL", "mysql://ferry:ferry@127.0.0.1:33306/ferry_test");
      return { url, probe: withPort(url, 3306), env: {} };
    },
  },
  // Debian's clickhouse-server 18.16, the real server (HTTP interface).
  clickhouse: {
    script: "clickhouse",
    vars: ["FERRY_TEST_CLICKHOUSE_URL"],
    resolve: (e) => {
      const url = get(e, "FERRY_TEST_CLICKHOUSE_URL", "clickhouse://ferry:ferry@127.0.0.1:58123/default");
      return { url, probe: withPort(url, 8123), env: {} };
    },
  },
  // The modern engine (chdb) behind test/helpers/chdb-http-server.ts: it stands in for a ClickHouse 26.7 server.
  chdb: {
    script: "chdb",
    vars: ["FERRY_TEST_CHDB_URL"],
    resolve: (e) => {
      const url = get(e, "FERRY_TEST_CHDB_URL", "clickhouse://ferry:ferry@127.0.0.1:58125/default");
      return { url, probe: withPort(url, 8123), env: {} };
    },
  },
  // MinIO: the AWS variables every S3 client reads, with path-style addressing implied by the endpoint.
  s3: {
    script: "s3",
    vars: [
      "FERRY_TEST_S3_ENDPOINT",
      "FERRY_TEST_S3_ACCESS_KEY_ID",
      "FERRY_TEST_S3_SECRET_ACCESS_KEY",
      "FERRY_TEST_S3_BUCKET",
    ],
    resolve: (e) => {
      const endpoint = get(e, "FERRY_TEST_S3_ENDPOINT", "http://127.0.0.1:59000");
      return {
        url: `s3://${get(e, "FERRY_TEST_S3_BUCKET", "ferry-test")}`,
        probe: withPort(endpoint, 80),
        env: {
          AWS_ENDPOINT_URL: endpoint,
          AWS_ACCESS_KEY_ID: get(e, "FERRY_TEST_S3_ACCESS_KEY_ID", "ferry-minio"),
          AWS_SECRET_ACCESS_KEY: get(e, "FERRY_TEST_S3_SECRET_ACCESS_KEY", "ferry-minio-secret"),
          AWS_REGION: "us-east-1",
        },
      };
    },
  },
  // Azurite: the development account and its published key.
  azure: {
    script: "azurite",
    vars: [
      "FERRY_TEST_AZURE_ENDPOINT",
      "FERRY_TEST_AZURE_ACCOUNT_NAME",
      "FERRY_TEST_AZURE_ACCOUNT_KEY",
      "FERRY_TEST_AZURE_CONTAINER",
    ],
    resolve: (e) => {
      const endpoint = get(e, "FERRY_TEST_AZURE_ENDPOINT", "http://127.0.0.1:59100/devstoreaccount1");
      return {
        url: `az://${get(e, "FERRY_TEST_AZURE_CONTAINER", "ferry-test")}`,
        probe: withPort(endpoint, 80),
        env: {
          AZURE_STORAGE_ENDPOINT: endpoint,
          AZURE_STORAGE_ACCOUNT_NAME: get(e, "FERRY_TEST_AZURE_ACCOUNT_NAME", "devstoreaccount1"),
          AZURE_STORAGE_ACCOUNT_KEY: get(
            e,
            "FERRY_TEST_AZURE_ACCOUNT_KEY",
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
          ),
        },
      };
    },
  },
  // stripe-mock: Stripe's own mock server (any sk_test_ key), its base URL.
  "stripe-mock": {
    script: "stripe-mock",
    vars: ["FERRY_TEST_STRIPE_MOCK_URL"],
    resolve: (e) => {
      const url = get(e, "FERRY_TEST_STRIPE_MOCK_URL", "http://127.0.0.1:59300");
      return { url, probe: withPort(url, 80), env: {} };
    },
  },
  // fake-gcs-server: no authentication, found through STORAGE_EMULATOR_HOST.
  gcs: {
    script: "gcs",
    vars: ["FERRY_TEST_GCS_ENDPOINT", "FERRY_TEST_GCS_BUCKET"],
    resolve: (e) => {
      const endpoint = get(e, "FERRY_TEST_GCS_ENDPOINT", "http://127.0.0.1:59200");
      return {
        url: `gs://${get(e, "FERRY_TEST_GCS_BUCKET", "ferry-test")}`,
        probe: withPort(endpoint, 80),
        env: { STORAGE_EMULATOR_HOST: endpoint },
      };
    },
  },
  // Temporal's dev server: `url` is its frontend's HOST:PORT (what --temporal takes), namespace ferry-test.
  temporal: {
    script: "temporal",
    vars: ["FERRY_TEST_TEMPORAL_ADDRESS", "FERRY_TEST_TEMPORAL_NAMESPACE"],
    resolve: (e) => {
      const address = get(e, "FERRY_TEST_TEMPORAL_ADDRESS", "127.0.0.1:57233");
      return {
        url: address,
        probe: new URL(`http://${address}`),
        env: { FERRY_TEST_TEMPORAL_NAMESPACE: get(e, "FERRY_TEST_TEMPORAL_NAMESPACE", "ferry-test") },
      };
    },
  },
};

function withPort(url: string, fallback: number): URL {
  const u = new URL(url);
  if (!u.port) u.port = String(fallback);
  return u;
}

export interface Service {
  /** Connection URL (databases) or the store URL of the test bucket (`s3://ferry-test`), when the server answers. */
  url: string;
  /** Environment variables a store reads to reach it (endpoint, test credentials); empty for databases. */
  env: Record<string, string>;
  /** Why tests of this service are skipped (undefined when it runs); pass as node:test's `skip` option. */
  skip: string | false;
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * A test server's URL (and for object stores the environment that reaches it), or a skip reason when it is not
 * running. Under `CI=true` a missing server is an error, not a skip: CI starts every server with
 * `scripts/services.sh up`.
 *
 * @example
 * const pg = await service("postgres");
 * describe("postgres destination", { skip: pg.skip }, () => { ... });
 * const s3 = await service("s3");
 * const store = await openObjectStore(`${s3.url}/my-test`, { env: s3.env });
 */
export async function service(name: ServiceName): Promise<Service> {
  const spec = SPECS[name];
  const { url, probe, env } = spec.resolve(process.env);
  const host = probe.hostname.replace(/^\[|\]$/g, "");
  const port = Number(probe.port);
  if (await reachable(host, port)) return { url, env, skip: false };
  const why = `${name} is not running at ${host}:${port} (start it with \`scripts/services.sh up ${spec.script}\`, or set ${spec.vars.join(", ")})`;
  if (process.env.CI === "true") throw new Error(`CI=true but ${why}`);
  return { url, env, skip: why };
}
