import type { LoadInfo, Pipeline } from "../../src/index.js";
import { type RestApiConfig, restApiSource } from "../../src/sources/rest-api/index.js";
import { FakeApi, type FakeRequest, type FakeRoute } from "../../src/testing/index.js";
import { type TempPipeline, tempPipeline } from "./tmp-pipeline.js";

/** Starts a FakeApi, runs `fn` with it and always closes it. */
export async function withApi<T>(routes: FakeRoute[], fn: (api: FakeApi) => Promise<T>): Promise<T> {
  const api = await FakeApi.start(routes);
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}

/** A temp pipeline for `fn`, removed afterwards. */
export async function withPipeline<T>(name: string, fn: (t: TempPipeline) => Promise<T>): Promise<T> {
  const t = tempPipeline(name);
  try {
    return await fn(t);
  } finally {
    t.cleanup();
  }
}

/** Runs a REST API source (built from `config` with `base_url` set to the api) into the pipeline. */
export function runRest(
  p: Pipeline,
  api: FakeApi,
  config: Omit<RestApiConfig, "client"> & {
    client?: Partial<RestApiConfig["client"]>;
  },
): Promise<LoadInfo> {
  return p.run(restApiSource({ ...config, client: { base_url: api.url, ...config.client } }));
}

/** A request as `METHOD /path?k=v&...` with decoded query values (order as sent). */
export function show(r: FakeRequest): string {
  const q = [...r.query].map(([k, v]) => `${k}=${v}`).join("&");
  return `${r.method} ${r.path}${q ? `?${q}` : ""}`;
}

/** Every request the api saw, as `show` writes them. */
export const sent = (api: FakeApi): string[] => api.requests.map(show);

/** Row count, distinct ids and id range of a table: each record exactly once means n = distinct. */
export async function idStats(
  p: Pipeline,
  table: string,
  id = "id",
): Promise<{ n: number; distinct: number; min: number; max: number }> {
  const [r] = await p
    .dataset()
    .sql(
      `select count(*) as n, count(distinct "${id}") as d, min("${id}") as mn, max("${id}") as mx from "${table}"`,
    );
  return { n: Number(r?.n), distinct: Number(r?.d), min: Number(r?.mn), max: Number(r?.mx) };
}

/** Tables of a dataset that are not ferry's own, sorted. */
export async function userTables(p: Pipeline, dataset: string): Promise<string[]> {
  const rows = await p
    .dataset()
    .sql(
      "select table_name from information_schema.tables where table_schema = $1 and table_name not like '\\_ferry%' escape '\\' order by table_name",
      [dataset],
    );
  return rows.map((r) => String(r.table_name));
}

/** Records with ids from..to: `{ id, name: "item <id>" }`. */
export const items = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ id: from + i, name: `item ${from + i}` }));
