import { parse as parseYaml } from "yaml";
import { type Environment, environment } from "../config/environment.js";
import type { PipelineOptions } from "../pipeline/pipeline.js";
import type { RunData } from "../pipeline/run-data.js";
import { ConfigError } from "../util/errors.js";
import { registerSecret } from "../util/log.js";
import { SPEC_SOURCES } from "./spec-sources.js";

export interface LoadedSpec {
  pipeline: PipelineOptions;
  data: RunData;
}

/** Replaces `${env:NAME}` with the variable's value (registered as a secret so it never reaches logs). */
export function substituteEnv(value: unknown, where = "spec"): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = environment()[name];
      if (v === undefined) {
        throw new ConfigError(`environment variable ${name} is not set (used in ${where})`, {
          hint: `export ${name}=... before running`,
        });
      }
      registerSecret(v);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, `${where}[${i}]`));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, `${where}.${k}`)]));
  }
  return value;
}

/**
 * Fills or overrides spec values from `FERRY__<PATH>` variables, path segments joined by `__`:
 * `FERRY__SOURCE__CLIENT__AUTH__TOKEN=...` sets `source.client.auth.token` (kept out of logs as a secret).
 * List items are addressed by index: `FERRY__SOURCE__RESOURCES__0__NAME`.
 */
export function applyEnvOverrides(
  spec: Record<string, unknown>,
  env: Environment = environment(),
): Record<string, unknown> {
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith("FERRY__") || value === undefined) continue;
    const path = key.slice("FERRY__".length).toLowerCase().split("__").filter(Boolean);
    if (path.length === 0) continue;
    registerSecret(value);
    let cur: Record<string, unknown> = spec;
    for (const part of path.slice(0, -1)) {
      const next = cur[part];
      if (next === null || typeof next !== "object") cur[part] = {};
      cur = cur[part] as Record<string, unknown>;
    }
    // A value replacing a number or boolean keeps that type; anything else (tokens!) stays a string.
    const leaf = path[path.length - 1] as string;
    const before = cur[leaf];
    const typed = typeof before === "number" || typeof before === "boolean";
    cur[leaf] = typed && /^(-?\d+(\.\d+)?|true|false)$/.test(value) ? JSON.parse(value) : value;
  }
  return spec;
}

/** Parses a YAML/JSON pipeline spec: `{ pipeline: { name, destination, dataset }, source: { type, ... } }`. */
export async function loadSpec(text: string, path: string): Promise<LoadedSpec> {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${path} is not valid YAML/JSON: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== "object")
    throw new ConfigError(`${path} must contain a mapping with pipeline and source`);
  const spec = applyEnvOverrides(substituteEnv(raw) as Record<string, unknown>) as {
    pipeline?: Record<string, unknown>;
    source?: Record<string, unknown>;
  };
  const p = spec.pipeline;
  if (!p || typeof p.name !== "string") {
    throw new ConfigError(`${path}: pipeline.name is required`, {
      hint: "pipeline: { name: crm, destination: duckdb, dataset: crm }",
    });
  }
  const src = spec.source;
  const type = typeof src?.type === "string" ? src.type : undefined;
  const factory = type ? SPEC_SOURCES[type] : undefined;
  if (!src || !type || !factory) {
    throw new ConfigError(`${path}: unknown source type ${JSON.stringify(type)}`, {
      hint: `available source types: ${Object.keys(SPEC_SOURCES).join(", ")}`,
    });
  }
  const pipeline: PipelineOptions = {
    name: p.name,
    ...(typeof p.destination === "string" ? { destination: p.destination } : {}),
    ...(typeof p.dataset === "string" ? { dataset: p.dataset } : {}),
    ...(typeof p.dir === "string" ? { dir: p.dir } : {}),
  };
  return { pipeline, data: await factory(src, { specPath: path, pipelineName: p.name }) };
}
