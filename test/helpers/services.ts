import { connect } from "node:net";

/** The servers `scripts/services.sh up` starts for integration tests. */
export type ServiceName = "postgres" | "mysql";

const DEFAULTS: Record<ServiceName, { env: string; url: string }> = {
  postgres: { env: "FERRY_TEST_POSTGRES_URL", url: "postgres://ferry:ferry@127.0.0.1:55432/ferry_test" },
  mysql: { env: "FERRY_TEST_MYSQL_URL", url: "mysql://ferry:ferry@127.0.0.1:33306/ferry_test" },
};

export interface Service {
  /** Connection URL, when the server answers. */
  url: string;
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
 * A test server's URL, or a skip reason when it is not running. Under `CI=true` a missing server is an error, not a
 * skip: CI starts every server with `scripts/services.sh up`.
 *
 * @example
 * const pg = await service("postgres");
 * describe("postgres destination", { skip: pg.skip }, () => { ... });
 */
export async function service(name: ServiceName): Promise<Service> {
  const { env, url: fallback } = DEFAULTS[name];
  const url = process.env[env] ?? fallback;
  const parsed = new URL(url);
  const port = Number(parsed.port || (name === "postgres" ? 5432 : 3306));
  if (await reachable(parsed.hostname, port)) return { url, skip: false };
  const why = `${name} is not running at ${parsed.hostname}:${port} (start it with \`scripts/services.sh up ${name === "mysql" ? "mariadb" : name}\`, or set ${env})`;
  if (process.env.CI === "true") throw new Error(`CI=true but ${why}`);
  return { url, skip: why };
}
