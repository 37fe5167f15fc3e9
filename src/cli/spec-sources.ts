import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { jsonlFile } from "../extract/json-lines.js";
import { resource } from "../extract/resource.js";
import { source } from "../extract/source.js";
import type { RunData } from "../pipeline/run-data.js";
import { ConfigError } from "../util/errors.js";

export interface SpecContext {
  specPath: string;
  pipelineName: string;
}

type SpecSourceFactory = (config: Record<string, unknown>, ctx: SpecContext) => Promise<RunData>;

/**
 * `type: json_files`: each resource reads a local JSON file (an array or one object) or a JSONL file.
 *
 * ```yaml
 * source:
 *   type: json_files
 *   resources:
 *     - { name: orders, path: data/orders.jsonl, primary_key: id, write_disposition: merge }
 * ```
 */
const jsonFiles: SpecSourceFactory = async (config, ctx) => {
  const list = config.resources;
  if (!Array.isArray(list) || list.length === 0)
    throw new ConfigError("json_files: resources must be a non-empty list");
  const resources = list.map((r: Record<string, unknown>, i: number) => {
    if (typeof r?.name !== "string" || typeof r.path !== "string") {
      throw new ConfigError(`json_files: resources[${i}] needs name and path`);
    }
    const path = resolve(dirname(ctx.specPath), r.path);
    return resource(
      {
        name: r.name,
        ...(r.primary_key !== undefined ? { primaryKey: r.primary_key as string | string[] } : {}),
        ...(r.merge_key !== undefined ? { mergeKey: r.merge_key as string | string[] } : {}),
        ...(typeof r.write_disposition === "string"
          ? { writeDisposition: r.write_disposition as "append" | "replace" | "merge" }
          : {}),
      },
      async function* () {
        if (path.endsWith(".jsonl") || path.endsWith(".ndjson")) {
          // Lines go to the package unparsed; each record is parsed once, while normalizing.
          yield* jsonlFile(path);
        } else {
          yield JSON.parse(await readFile(path, "utf8"));
        }
      },
    );
  });
  return source({ name: typeof config.name === "string" ? config.name : ctx.pipelineName, resources });
};

/** `type: rest_api`: the declarative REST API source (loaded only when a spec uses it). */
const restApi: SpecSourceFactory = async (config, ctx) => {
  const { restApiSource } = await import("../sources/rest-api/index.js");
  const { type: _type, ...rest } = config;
  return restApiSource({ name: ctx.pipelineName, ...rest } as unknown as Parameters<typeof restApiSource>[0]);
};

/** Options of a spec source without its `type` key. */
const withoutType = (config: Record<string, unknown>) => {
  const { type: _type, ...rest } = config;
  return rest;
};

/** Source types a YAML/JSON spec can name. Later sources (sql_database, ...) add entries here. */
export const SPEC_SOURCES: Record<string, SpecSourceFactory> = {
  json_files: jsonFiles,
  rest_api: restApi,
  // `type: sql_database` (src/sources/sql-database/spec.ts), loaded only when a spec uses it.
  sql_database: async (config, ctx) =>
    (await import("../sources/sql-database/spec.js")).sqlDatabaseFromSpec(config, ctx),
  // The SaaS sources take their options as they are written in the spec (snake_case), loaded only when used.
  stripe: async (config) =>
    (await import("../sources/stripe/index.js")).stripeSource(
      withoutType(config) as unknown as import("../sources/stripe/index.js").StripeOptions,
    ),
  hubspot: async (config) =>
    (await import("../sources/hubspot/index.js")).hubspotSource(
      withoutType(config) as unknown as import("../sources/hubspot/index.js").HubSpotOptions,
    ),
  zendesk: async (config) =>
    (await import("../sources/zendesk/index.js")).zendeskSource(
      withoutType(config) as unknown as import("../sources/zendesk/index.js").ZendeskOptions,
    ),
};
