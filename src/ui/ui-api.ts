import type { IncomingMessage } from "node:http";
import { resolveDestination } from "../pipeline/destination-url.js";
import { errorMessage, FerryError, isFerryError } from "../util/errors.js";
import { redactSecrets, silentLogger } from "../util/log.js";
import { datasetTables, firstRows, readOnlyQuery, schemaView, tableTree } from "./data-view.js";
import type { EventFeed } from "./event-feed.js";
import {
  openPipeline,
  type PipelineSources,
  pipelineNames,
  pipelineRows,
  pipelineRuns,
  runView,
} from "./pipelines-view.js";
import type { RunNow } from "./run-now.js";

/** What the API answers with: a status and a JSON-able body. */
export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** The push door the events page reads, when the dashboard runs inside `ferry serve`. */
export interface EventsSource {
  feed: EventFeed;
  /** Where events land, and the datasets of the projects (for plugin errors and dead letters). */
  destination: string;
  datasets: string[];
}

export interface ApiContext {
  sources: PipelineSources;
  runNow: RunNow | undefined;
  events: EventsSource | undefined;
}

const MAX_BODY = 64 * 1024;

class NotFound extends FerryError {}

const ok = (body: unknown): ApiAnswer => ({ status: 200, body });

/** Answers one API request (`path` is what follows `/ui/api/`). */
export async function answerApi(
  ctx: ApiContext,
  req: IncomingMessage,
  path: string,
  url: URL,
): Promise<ApiAnswer> {
  try {
    return await route(ctx, req, path.split("/").map(decodeURIComponent), url);
  } catch (err) {
    const status = err instanceof NotFound ? 404 : isFerryError(err) ? 400 : 500;
    const hint = isFerryError(err) ? err.hint : undefined;
    return { status, body: { error: redactSecrets(errorMessage(err)), ...(hint ? { hint } : {}) } };
  }
}

async function route(ctx: ApiContext, req: IncomingMessage, parts: string[], url: URL): Promise<ApiAnswer> {
  const method = req.method ?? "GET";
  const [head, name, sub, arg] = parts;
  if (head === "overview" && method === "GET")
    return ok({
      pipelines: await pipelineRows(ctx.sources),
      events: ctx.events !== undefined,
      runNow: ctx.runNow !== undefined,
    });
  if (head === "events" && method === "GET") return events(ctx, name, url);
  if (head !== "pipelines" || name === undefined)
    throw new NotFound(`no API route /ui/api/${parts.join("/")}`);
  if (!(await pipelineNames(ctx.sources)).includes(name))
    throw new NotFound(`no pipeline "${name}" in ${ctx.sources.dir} or in the project file`);
  if (sub === undefined && method === "GET") {
    const row = (await pipelineRows(ctx.sources)).find((r) => r.name === name);
    return ok({ pipeline: row, runs: await pipelineRuns(ctx.sources, name) });
  }
  if (sub === "run" && method === "POST") {
    if (!ctx.runNow)
      throw new FerryError("runs start only from a dashboard that has the project file", {
        hint: "start ferry ui where ferry.yaml is (or pass --config)",
      });
    return ok({ runId: await ctx.runNow.start(name) });
  }
  if (sub === "runs" && arg !== undefined && method === "GET") {
    const view = await runView(ctx.sources, name, arg);
    if (!view) throw new NotFound(`no run "${arg}" of pipeline ${name}`);
    return ok(view);
  }
  const p = await openPipeline(ctx.sources, name);
  if (!p) throw new NotFound(`pipeline ${name} has not run yet: nothing is loaded`);
  if (sub === "schema" && method === "GET") {
    const view = await schemaView(p);
    if (!view) throw new NotFound(`pipeline ${name} has no schema yet`);
    return ok({ ...view, tree: tableTree(view.schema) });
  }
  if (sub === "tables" && method === "GET") {
    if (arg === undefined) return ok({ tables: await datasetTables(p) });
    const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get("limit") ?? 50) || 50));
    return ok({ table: arg, rows: await firstRows(p, arg, limit) });
  }
  if (sub === "sql" && method === "POST") {
    let body: { sql?: unknown };
    try {
      body = JSON.parse(await readBody(req)) as { sql?: unknown };
    } catch {
      throw new FerryError('the request body is not JSON: send {"sql": "select ..."}');
    }
    if (typeof body.sql !== "string") throw new FerryError('send {"sql": "select ..."}');
    return ok(await readOnlyQuery(p, body.sql));
  }
  throw new NotFound(`no API route ${method} /ui/api/${parts.join("/")}`);
}

async function events(ctx: ApiContext, what: string | undefined, url: URL): Promise<ApiAnswer> {
  if (!ctx.events)
    throw new NotFound("the events page needs ferry serve: its dashboard is at /ui on the capture port");
  if (what === "live") {
    const since = Number(url.searchParams.get("since") ?? 0) || 0;
    return ok({ samples: ctx.events.feed.samples(since), tail: ctx.events.feed.tail() });
  }
  if (what === "errors") return ok(await eventErrors(ctx.events));
  throw new NotFound(`no API route /ui/api/events/${what ?? ""}`);
}

/** The newest rows of `plugin_errors` and `dead_letters` of each project's dataset, when the tables exist. */
async function eventErrors(src: EventsSource): Promise<unknown> {
  const out: { dataset: string; table: string; rows?: unknown[]; error?: string }[] = [];
  const destination = await resolveDestination(src.destination, "ui");
  for (const dataset of src.datasets) {
    try {
      const client = await destination.connect({ dataset, pipelineName: "ui", logger: silentLogger });
      try {
        const tables = await client.listTables();
        for (const table of ["plugin_errors", "dead_letters"])
          if (tables.includes(table))
            out.push({ dataset, table, rows: await client.readTable(table, { limit: 100 }) });
      } finally {
        await client.close();
      }
    } catch (err) {
      out.push({ dataset, table: "plugin_errors", error: redactSecrets(errorMessage(err)) });
    }
  }
  return { tables: out };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new FerryError(`the request body is over ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
