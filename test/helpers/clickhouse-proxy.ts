/**
 * An HTTP proxy in front of a ClickHouse test server that knows the statements going through it, to interrupt one
 * at an exact point: `hold` keeps it from the server until `release()` (the client waits: a test can kill it there, a
 * crash just before that statement), `drop` lets the server run it and then cuts the client's connection instead of
 * answering (the client cannot tell whether it ran). Everything else is forwarded as it is, to the real server or
 * engine behind.
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";

export interface ProxyRule {
  /** The statement: the `query` parameter of the request, or its body when it has none. */
  match: RegExp;
  /** Matching statements to let through before acting (default 0). */
  skip?: number;
  action: "hold" | "drop";
}

interface ArmedRule extends ProxyRule {
  seen: number;
  fired: (statement: string) => void;
}

/**
 * @example
 * const proxy = await ClickHouseProxy.start(svc.url);
 * const held = proxy.arm({ match: /^INSERT INTO `ds`\.`_ferry_loads`/, action: "hold" });
 * // run a pipeline against proxy.url, await held, kill it
 */
export class ClickHouseProxy {
  readonly #server: Server;
  readonly #target: URL;
  readonly #rules: ArmedRule[] = [];
  readonly #held: Array<() => void> = [];
  /** Statements seen, in order (the start of each). */
  readonly statements: string[] = [];
  /** The `clickhouse://` URL of the proxy (the target's credentials and database). */
  readonly url: string;

  private constructor(server: Server, target: URL, url: string) {
    this.#server = server;
    this.#target = target;
    this.url = url;
  }

  /**
   * Starts a proxy on a free port of 127.0.0.1 in front of `target` (a `clickhouse://` URL); with `tls` (a key and
   * certificate, PEM) it speaks HTTPS and its URL is `clickhouses://`.
   */
  static async start(
    target: string,
    o: { tls?: { key: Buffer; cert: Buffer } } = {},
  ): Promise<ClickHouseProxy> {
    const t = new URL(target);
    let self: ClickHouseProxy | undefined;
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      self?.handle(req, res).catch(() => res.destroy());
    };
    const server: Server = o.tls ? createTlsServer(o.tls, handler) : createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const url = new URL(o.tls ? target.replace(/^clickhouse:/, "clickhouses:") : target);
    url.host = `127.0.0.1:${port}`;
    self = new ClickHouseProxy(server, t, url.toString());
    return self;
  }

  /** Acts on the next statement that matches (after `skip` of them); resolves with that statement when it does. */
  arm(rule: ProxyRule): Promise<string> {
    return new Promise((fired) => this.#rules.push({ ...rule, seen: 0, fired }));
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const params = new URL(req.url ?? "/", "http://x").searchParams;
    let body: Buffer | undefined;
    let statement = params.get("query");
    if (statement === null) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = Buffer.concat(chunks);
      statement = body.toString("utf8");
    }
    this.statements.push(statement.slice(0, 500));
    const rule = this.#rules.find((r) => r.match.test(statement) && r.seen++ >= (r.skip ?? 0));
    if (rule) this.#rules.splice(this.#rules.indexOf(rule), 1);
    if (rule?.action === "hold") {
      this.#held.push(() => this.#forward(req, res, body, undefined, statement));
      rule.fired(statement);
      return; // not answered until release(): the client waits (or is killed)
    }
    this.#forward(req, res, body, rule, statement);
  }

  /** Sends the held statements on to the server. */
  release(): void {
    for (const forward of this.#held.splice(0)) forward();
  }

  #forward(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer | undefined,
    rule: ArmedRule | undefined,
    statement: string,
  ): void {
    const upstream = request({
      host: this.#target.hostname,
      port: Number(this.#target.port || 8123),
      method: req.method,
      path: req.url,
      headers: req.headers,
    });
    upstream.on("response", (up) => {
      if (rule?.action === "drop") {
        // The server ran it; the client hears nothing back.
        up.resume();
        up.on("end", () => {
          res.destroy();
          rule.fired(statement);
        });
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    if (body !== undefined) upstream.end(body);
    else req.pipe(upstream);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
