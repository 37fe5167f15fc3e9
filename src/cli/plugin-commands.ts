import { existsSync, readdirSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { compilePlugin } from "../events/plugins/compile.js";
import type { PluginEvent } from "../events/plugins/plugin-api.js";
import { parsePluginSpecs } from "../events/plugins/plugin-config.js";
import { PluginHost } from "../events/plugins/plugin-host.js";
import { createEvent, sampleEvents } from "../events/plugins/sample-events.js";
import { ConfigError, errorMessage } from "../util/errors.js";
import type { Logger } from "../util/log.js";
import { formatChange, type JsonChange, jsonChanges } from "./plugin-diff.js";
import { PLUGIN_INDEX, PLUGIN_PACKAGE, PLUGIN_README, PLUGIN_TEST } from "./plugin-scaffold.js";

export interface PluginTestFlags {
  config?: string;
  events?: string;
  allowedHosts?: string;
  timeout?: string;
  memory?: string;
  json?: boolean;
}

/** What a plugin did to one event. */
export interface EventReport {
  uuid: string;
  event: string;
  outcome: "changed" | "unchanged" | "dropped" | "failed";
  changes: JsonChange[];
  error?: string;
  /** The request composeWebhook made for it (after processEvent), when it has composeWebhook. */
  webhook?: unknown;
  /** What went wrong in composeWebhook or onEvent. */
  exportError?: string;
}

/**
 * `ferry plugin test <module>`: runs a plugin in the real sandbox over sample events (or `--events file.jsonl`) and
 * prints what it changed, dropped or failed on, as a diff per event; then the webhook `composeWebhook` would send
 * and whether `onEvent` went through. Resolves with the number of events something failed on.
 */
export async function pluginTest(
  module: string,
  flags: PluginTestFlags,
  print: (s: string) => void,
  logger: Logger,
): Promise<number> {
  const [spec] = parsePluginSpecs(
    [
      {
        module,
        config: parseJsonFlag(flags.config),
        ...(flags.allowedHosts ? { allowed_hosts: flags.allowedHosts.split(",").map((h) => h.trim()) } : {}),
        ...(flags.timeout ? { timeout: flags.timeout } : {}),
        ...(flags.memory ? { memory: flags.memory } : {}),
      },
    ],
    "--",
  );
  if (!spec) throw new Error("no plugin");
  const events = flags.events ? await readEvents(flags.events) : sampleEvents();
  const { code } = await compilePlugin(module, process.cwd());
  const host = await PluginHost.start({
    storagePath: ":memory:",
    logger,
    logPrefix: () => `plugin ${spec.name}`,
  });
  try {
    const key = `test/${spec.name}`;
    const loaded = await host.load({
      key,
      name: spec.name,
      code,
      config: { ...spec.config },
      timeoutMs: spec.timeoutMs,
      memoryMb: spec.memoryMb,
      allowedHosts: [...spec.allowedHosts],
    });
    if (loaded.setupError)
      throw new ConfigError(`setupPlugin failed: ${loaded.setupError}`, { hint: "check --config" });
    const reports = await runEvents(host, key, loaded.hooks, events);
    if (flags.json) print(JSON.stringify(reports, null, 2));
    else print(formatReports(reports, loaded.hooks));
    return reports.filter((r) => r.outcome === "failed" || r.exportError).length;
  } finally {
    const failures = await host.stop();
    for (const message of failures.values()) print(`teardownPlugin failed: ${message}`);
  }
}

async function runEvents(
  host: PluginHost,
  key: string,
  hooks: readonly string[],
  events: PluginEvent[],
): Promise<EventReport[]> {
  const reports: EventReport[] = events.map((e) => ({
    uuid: e.uuid,
    event: e.event,
    outcome: "unchanged",
    changes: [],
  }));
  let after: (PluginEvent | null)[] = events;
  if (hooks.includes("processEvent")) {
    const r = await host.chain([{ key, onError: "drop" }], JSON.stringify(events), events.length);
    const failed = new Map(r.errors.map((e) => [e.index, e.message]));
    after = r.events.map((j) => (j === null ? null : (JSON.parse(j) as PluginEvent)));
    for (const [i, report] of reports.entries()) {
      const out = after[i];
      if (failed.has(i)) Object.assign(report, { outcome: "failed", error: failed.get(i) });
      else if (!out) report.outcome = "dropped";
      else {
        report.changes = jsonChanges(events[i], out);
        report.outcome = report.changes.length > 0 ? "changed" : "unchanged";
      }
    }
  }
  for (const [i, e] of after.entries()) {
    const report = reports[i] as EventReport;
    if (!e) continue;
    for (const hook of ["composeWebhook", "onEvent"] as const) {
      if (!hooks.includes(hook)) continue;
      const [o] = await host.events(key, hook, JSON.stringify([e]), 1);
      if (o?.[0] === "err") report.exportError = `${hook}: ${o[1]}`;
      else if (hook === "composeWebhook")
        report.webhook = o?.[0] === "ok" ? JSON.parse(o[1] as string) : null;
    }
  }
  return reports;
}

function formatReports(reports: EventReport[], hooks: readonly string[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`${r.event} ${r.uuid}: ${r.outcome}${r.error ? `: ${r.error}` : ""}`);
    for (const c of r.changes) lines.push(`  ${formatChange(c)}`);
    if (r.webhook) {
      const w = r.webhook as { method: string; url: string; body: string };
      lines.push(
        `  webhook: ${w.method} ${w.url}`,
        `    ${w.body.length > 300 ? `${w.body.slice(0, 300)}...` : w.body}`,
      );
    } else if (r.webhook === null) lines.push("  webhook: none");
    if (r.exportError) lines.push(`  ${r.exportError}`);
  }
  const count = (o: EventReport["outcome"]) => reports.filter((r) => r.outcome === o).length;
  lines.push(
    `${reports.length} event(s): ${count("changed")} changed, ${count("unchanged")} unchanged, ${count("dropped")} dropped, ${count("failed")} failed` +
      ` (hooks: ${hooks.join(", ") || "none"})`,
  );
  return lines.join("\n");
}

function parseJsonFlag(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`--config is not JSON: ${errorMessage(err)}`, {
      hint: `e.g. --config '{"property":"email"}'`,
    });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ConfigError("--config must be a JSON object");
  return v as Record<string, unknown>;
}

/** Events of a JSON Lines file: each line an event (missing fields are filled in as createEvent does). */
async function readEvents(path: string): Promise<PluginEvent[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read --events ${path}: ${errorMessage(err)}`);
  }
  const events: PluginEvent[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new ConfigError(`${path}:${i + 1} is not JSON: ${errorMessage(err)}`);
    }
    if (typeof v !== "object" || v === null || Array.isArray(v))
      throw new ConfigError(`${path}:${i + 1} is not an event object`);
    events.push(createEvent(v as Partial<PluginEvent>));
  }
  if (events.length === 0) throw new ConfigError(`${path} holds no events`);
  return events;
}

/** `ferry plugin new <name>`: a folder with a plugin module, its unit test, a README and a package.json. */
export async function pluginNew(
  name: string,
  dir: string | undefined,
  print: (s: string) => void,
): Promise<void> {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/i.test(name))
    throw new ConfigError(
      `a plugin name is letters, digits, '-' and '_' (at most 64), not ${JSON.stringify(name)}`,
    );
  const target = resolve(dir ?? name);
  if (existsSync(target) && readdirSync(target).length > 0)
    throw new ConfigError(`${target} exists and is not empty`, { hint: "choose another name or --dir" });
  await mkdir(target, { recursive: true });
  const fill = (s: string) => s.replaceAll("__NAME__", name);
  await writeFile(join(target, "index.ts"), fill(PLUGIN_INDEX));
  await writeFile(join(target, "index.test.ts"), fill(PLUGIN_TEST));
  await writeFile(join(target, "README.md"), fill(PLUGIN_README));
  await writeFile(join(target, "package.json"), fill(PLUGIN_PACKAGE));
  const rel = dir ?? name;
  print(
    [
      `created ${rel}/: index.ts (the plugin), index.test.ts (its test), README.md, package.json`,
      `  test it:   node --import tsx --test ${rel}/index.test.ts`,
      `  try it:    npx ferry plugin test ${rel}/index.ts --config '{"property":"email"}'`,
      "  use it:    in ferry.yaml, under serve.projects[].plugins:",
      `               - module: ./${rel}/index.ts`,
      `                 name: ${basename(name)}`,
      "                 config: { property: email }",
    ].join("\n"),
  );
}
