import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setting } from "../config/settings.js";
import type { MaintenanceResult } from "../destinations/destination.js";
import { readPackageFailure } from "../package/package-failure.js";
import { attachPipeline } from "../pipeline/attach.js";
import { LocalStateStore } from "../pipeline/local-state.js";
import type { Pipeline } from "../pipeline/pipeline.js";
import { FerryError } from "../util/errors.js";
import { exists } from "../util/fs.js";
import { schemaToYaml } from "./schema-yaml.js";

export interface CommonFlags {
  dir?: string;
  json?: boolean;
  destination?: string;
  dataset?: string;
}

type Print = (text: string) => void;

export function pipelinesDir(flags: CommonFlags): string {
  return resolve(flags.dir ?? setting("pipelinesDir"));
}

function open(name: string, flags: CommonFlags): Promise<Pipeline> {
  return attachPipeline(name, {
    dir: pipelinesDir(flags),
    ...(flags.destination ? { destination: flags.destination } : {}),
    ...(flags.dataset ? { dataset: flags.dataset } : {}),
  });
}

export async function listPipelines(flags: CommonFlags, print: Print): Promise<void> {
  const dir = pipelinesDir(flags);
  const names: string[] = [];
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    if ((await exists(join(dir, n, "state.json"))) || (await exists(join(dir, n, "packages")))) names.push(n);
  }
  names.sort();
  if (flags.json) return print(JSON.stringify(names));
  if (names.length === 0) return print(`no pipelines in ${dir}`);
  for (const n of names) print(n);
}

export async function pipelineInfo(name: string, flags: CommonFlags, print: Print): Promise<void> {
  const p = await open(name, flags);
  const { pending, failed } = await p.packages();
  const pendingInfo = await Promise.all(
    pending.map(async (pk) => ({ loadId: pk.loadId, stage: await pk.stage() })),
  );
  const trace = await p.readTrace();
  const info = {
    pipeline: p.name,
    workingDir: p.dir,
    destination: p.state?.destination ?? String(p.options.destination ?? "duckdb"),
    dataset: p.datasetName,
    stateVersion: p.state?.version ?? 0,
    lastLoadId: p.state?.lastLoadId,
    schemas: p.state?.schemaNames ?? [],
    schemaVersion: p.schema?.version,
    tables: Object.values(p.schema?.tables ?? {}).map((t) => t.name),
    pendingPackages: pendingInfo,
    failedPackages: failed.map((f) => f.loadId),
    lastRun: trace
      ? {
          startedAt: trace.startedAt,
          finishedAt: trace.finishedAt,
          ok: !trace.error,
          error: trace.error?.message,
        }
      : undefined,
    resources: Object.fromEntries(
      Object.entries(p.state?.sources ?? {}).flatMap(([, s]) =>
        Object.entries(s.resources).map(([r, st]) => [r, st]),
      ),
    ),
  };
  if (flags.json) return print(JSON.stringify(info, null, 2));
  print(`pipeline:      ${info.pipeline}`);
  print(`working dir:   ${info.workingDir}`);
  print(`destination:   ${info.destination}`);
  print(`dataset:       ${info.dataset}`);
  print(`state version: ${info.stateVersion}${info.lastLoadId ? ` (last load ${info.lastLoadId})` : ""}`);
  print(
    `schemas:       ${info.schemas.join(", ") || "-"}${info.schemaVersion ? ` (default at v${info.schemaVersion})` : ""}`,
  );
  print(`tables:        ${info.tables.join(", ") || "-"}`);
  print(`pending:       ${pendingInfo.map((x) => `${x.loadId} (${x.stage})`).join(", ") || "none"}`);
  print(`failed:        ${info.failedPackages.join(", ") || "none"}`);
  if (info.lastRun)
    print(
      `last run:      ${info.lastRun.startedAt} ${info.lastRun.ok ? "ok" : `failed: ${info.lastRun.error}`}`,
    );
  for (const [r, st] of Object.entries(info.resources)) {
    for (const [cursor, inc] of Object.entries(st.incremental ?? {})) {
      print(`  ${r}: cursor ${cursor} at ${JSON.stringify(inc.lastValue)}`);
    }
  }
}

export async function pipelineSchema(
  name: string,
  flags: CommonFlags & { schema?: string },
  print: Print,
): Promise<void> {
  const p = await open(name, flags);
  const schemaName = flags.schema ?? p.state?.defaultSchema;
  const stored = schemaName ? await new LocalStateStore(p.dir).readSchema(schemaName) : undefined;
  if (!stored)
    throw new FerryError(`pipeline "${name}" has no schema yet`, { hint: "run the pipeline first" });
  print(flags.json ? JSON.stringify(stored, null, 2) : schemaToYaml(stored));
}

export async function pipelineTrace(name: string, flags: CommonFlags, print: Print): Promise<void> {
  const p = await open(name, flags);
  const trace = await p.readTrace();
  if (!trace) throw new FerryError(`pipeline "${name}" has no trace yet`, { hint: "run the pipeline first" });
  if (flags.json) return print(JSON.stringify(trace, null, 2));
  print(
    `run of ${trace.pipeline}: ${trace.startedAt} -> ${trace.finishedAt ?? "?"} ${trace.error ? "FAILED" : "ok"}`,
  );
  for (const s of trace.steps)
    print(
      `  ${s.step.padEnd(10)} ${String(s.durationMs).padStart(8)} ms${s.error ? `  error: ${s.error}` : ""}`,
    );
  if (trace.loadInfo) {
    for (const [t, n] of Object.entries(trace.loadInfo.rows)) print(`  ${t}: ${n} rows`);
  }
  if (trace.error)
    print(`error: ${trace.error.message}${trace.error.hint ? `\nhint: ${trace.error.hint}` : ""}`);
}

export async function pipelineFailedJobs(name: string, flags: CommonFlags, print: Print): Promise<void> {
  const p = await open(name, flags);
  const { failed } = await p.packages();
  const out: { loadId: string; dir: string; error?: string; jobs: { job: string; error: string }[] }[] = [];
  for (const pkg of failed) {
    const jobs: { job: string; error: string }[] = [];
    for (const job of await pkg.jobs("failed")) {
      const error = await readFile(join(pkg.jobDir("failed"), `${job}.exception`), "utf8").catch(
        () => "(no error recorded)",
      );
      jobs.push({ job, error });
    }
    const error = await readPackageFailure(pkg.dir);
    out.push({ loadId: pkg.loadId, dir: pkg.dir, ...(error ? { error } : {}), jobs });
  }
  if (flags.json) return print(JSON.stringify(out, null, 2));
  if (out.length === 0) return print(`pipeline ${name} has no failed jobs`);
  for (const f of out) {
    print(`load ${f.loadId} (files in ${f.dir})`);
    for (const j of f.jobs) print(`  ${j.job}\n    ${j.error.split("\n").join("\n    ")}`);
    if (f.jobs.length === 0) {
      print("  the package failed before a job started:");
      print(`    ${(f.error ?? "(no error recorded)").split("\n").join("\n    ")}`);
    }
  }
}

export async function pipelineDrop(
  name: string,
  flags: CommonFlags & { yes?: boolean },
  print: Print,
): Promise<void> {
  if (!flags.yes) {
    throw new FerryError(`dropping pipeline "${name}" deletes its tables and working dir`, {
      hint: "pass --yes to confirm",
    });
  }
  const p = await open(name, flags);
  const { droppedTables } = await p.drop();
  if (flags.json) return print(JSON.stringify({ pipeline: name, droppedTables }));
  print(
    `dropped pipeline ${name}: ${droppedTables.length} table(s) (${droppedTables.join(", ") || "none"}) and ${p.dir}`,
  );
}

export async function pipelineSync(name: string, flags: CommonFlags, print: Print): Promise<void> {
  const p = await open(name, flags);
  const restored = await p.syncFromDestination();
  if (!restored)
    throw new FerryError(`the destination has no state for pipeline "${name}"`, {
      hint: "check --destination and --dataset",
    });
  if (flags.json)
    return print(
      JSON.stringify({ pipeline: name, stateVersion: p.state?.version, lastLoadId: p.state?.lastLoadId }),
    );
  print(
    `restored pipeline ${name} from ${p.state?.destination}: state v${p.state?.version}, last load ${p.state?.lastLoadId}`,
  );
}

/** Flags of `optimize` and `vacuum`. */
export interface MaintenanceFlags extends CommonFlags {
  /** Comma-separated table names (default: the pipeline's Delta tables). */
  table?: string;
  targetFileSize?: string;
  retentionHours?: string;
  force?: boolean;
  dryRun?: boolean;
}

const tablesOf = (flags: MaintenanceFlags) =>
  flags.table
    ?.split(",")
    .map((t) => t.trim())
    .filter(Boolean);

/** `128MB`, `1GiB`, `1048576` as bytes. */
function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$/i.exec(text);
  if (!m)
    throw new FerryError(`invalid size "${text}"`, {
      hint: "e.g. --target-file-size 128MB (or a number of bytes)",
    });
  const unit = (m[2] ?? "b").toLowerCase();
  const mult = unit.startsWith("g")
    ? 2 ** 30
    : unit.startsWith("m")
      ? 2 ** 20
      : unit.startsWith("k")
        ? 2 ** 10
        : 1;
  return Math.round(Number(m[1]) * mult);
}

function printResults(results: MaintenanceResult[], what: string, flags: CommonFlags, print: Print): void {
  if (flags.json) {
    print(JSON.stringify(results, null, 2));
    return;
  }
  if (results.length === 0) {
    print(`no Delta tables to ${what}`);
    return;
  }
  for (const r of results) {
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
    const added = r.filesAdded > 0 ? `, wrote ${r.filesAdded} (${mb(r.bytesAdded)})` : "";
    const verb = r.dryRun ? "would delete" : what === "optimize" ? "compacted" : "deleted";
    print(
      `${r.table}: ${verb} ${r.filesRemoved} file(s) (${mb(r.bytesRemoved)})${added}; version ${r.version}`,
    );
  }
}

export async function pipelineOptimize(name: string, flags: MaintenanceFlags, print: Print): Promise<void> {
  const p = await open(name, flags);
  const tables = tablesOf(flags);
  const results = await p.optimize({
    ...(tables ? { tables } : {}),
    ...(flags.targetFileSize ? { targetFileSize: parseBytes(flags.targetFileSize) } : {}),
  });
  printResults(results, "optimize", flags, print);
}

export async function pipelineVacuum(name: string, flags: MaintenanceFlags, print: Print): Promise<void> {
  const p = await open(name, flags);
  const tables = tablesOf(flags);
  let retentionHours: number | undefined;
  if (flags.retentionHours !== undefined) {
    retentionHours = Number(flags.retentionHours);
    if (flags.retentionHours.trim() === "" || !Number.isFinite(retentionHours))
      throw new FerryError(`invalid --retention-hours "${flags.retentionHours}"`, {
        hint: "a number of hours, e.g. 168",
      });
  }
  const results = await p.vacuum({
    ...(tables ? { tables } : {}),
    ...(retentionHours !== undefined ? { retentionHours } : {}),
    ...(flags.force ? { force: true } : {}),
    ...(flags.dryRun ? { dryRun: true } : {}),
  });
  printResults(results, "vacuum", flags, print);
}
