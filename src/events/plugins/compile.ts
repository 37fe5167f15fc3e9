import { existsSync, readdirSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, extname, isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SANDBOX_DEFINES } from "../../config/environment.js";
import { ConfigError, errorMessage } from "../../util/errors.js";

/** A plugin module bundled into one script for the sandbox. */
export interface CompiledPlugin {
  /** The module as configured (`./plugins/x.ts`, `ferry:user-agent`). */
  readonly module: string;
  /** The file it was read from. */
  readonly path: string;
  /** A script that sets the global `__ferry_plugin` to the module's exports. */
  readonly code: string;
}

/** This module's own extension: `.ts` when run from the sources (tests), `.js` once built. */
const OWN_EXT = extname(fileURLToPath(import.meta.url));
const BUNDLED_DIR = fileURLToPath(new URL("./bundled/", import.meta.url));
const EXTENSIONS = [".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"];

/** Node's own modules stay imports, so that using one fails in the sandbox (with a message) rather than at build. */
const NODE_BUILTINS = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/** The bundled plugins' names (`ferry:<name>`). */
export function bundledPluginNames(): string[] {
  return readdirSync(BUNDLED_DIR)
    .filter((f) => f.endsWith(OWN_EXT) && !f.endsWith(".d.ts"))
    .map((f) => f.slice(0, -OWN_EXT.length))
    .sort();
}

/** The file of a plugin module: `ferry:<name>` is a bundled plugin, anything else a path from `baseDir`. */
export function resolvePluginPath(module: string, baseDir: string): string {
  if (module.startsWith("ferry:")) {
    const name = module.slice("ferry:".length);
    const path = resolve(BUNDLED_DIR, `${name}${OWN_EXT}`);
    if (!/^[a-z0-9-]+$/.test(name) || !existsSync(path)) {
      throw new ConfigError(`there is no bundled plugin ${module}`, {
        hint: `bundled plugins: ${bundledPluginNames()
          .map((n) => `ferry:${n}`)
          .join(", ")}`,
      });
    }
    return path;
  }
  const path = isAbsolute(module) ? module : resolve(baseDir, module);
  if (!existsSync(path)) {
    throw new ConfigError(`the plugin module ${module} does not exist (looked for ${path})`, {
      hint: "module paths are relative to the project file (ferry.yaml)",
    });
  }
  if (!EXTENSIONS.includes(extname(path)))
    throw new ConfigError(`the plugin module ${module} is not a JS or TS file (${EXTENSIONS.join(", ")})`);
  return path;
}

/**
 * Bundles a plugin module (JS or TS, with the npm packages it imports) into one script for the sandbox. Syntax and
 * type-stripping errors, and imports that cannot be found, are refused here with esbuild's message.
 *
 * @example
 * const { code } = await compilePlugin("./plugins/drop-email.ts", process.cwd());
 */
export async function compilePlugin(module: string, baseDir: string): Promise<CompiledPlugin> {
  const path = resolvePluginPath(module, baseDir);
  const code = await bundle(path, "__ferry_plugin", `the plugin ${module}`);
  return { module, path, code };
}

let prelude: Promise<string> | undefined;

/** The sandbox's prelude (sandbox/prelude.ts) as one script, built once per process. */
export function preludeCode(): Promise<string> {
  prelude ??= bundle(
    fileURLToPath(new URL(`./sandbox/prelude${OWN_EXT}`, import.meta.url)),
    undefined,
    "the plugin sandbox",
  );
  return prelude;
}

async function bundle(entry: string, globalName: string | undefined, what: string): Promise<string> {
  const esbuild = await import("esbuild");
  try {
    const out = await esbuild.build({
      entryPoints: [entry],
      // Locations in errors are relative to the module's folder.
      absWorkingDir: dirname(entry),
      bundle: true,
      write: false,
      format: "iife",
      ...(globalName ? { globalName } : {}),
      platform: "neutral",
      mainFields: ["module", "main"],
      target: "es2022",
      external: NODE_BUILTINS,
      define: { ...SANDBOX_DEFINES },
      // import() of a Node module becomes a require() call, which the sandbox answers with a message.
      supported: { "dynamic-import": false },
      logLevel: "silent",
      charset: "utf8",
      legalComments: "none",
    });
    const file = out.outputFiles[0];
    if (!file) throw new Error("esbuild wrote nothing");
    return file.text;
  } catch (err) {
    const errors = (
      err as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }
    ).errors;
    const detail = errors?.length
      ? errors
          .slice(0, 5)
          .map((e) =>
            e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ${e.text}` : e.text,
          )
          .join("; ")
      : errorMessage(err);
    throw new ConfigError(`${what} does not compile: ${detail}`, {
      hint: "fix the module (it is bundled with its npm imports by esbuild; Node modules such as fs are not available)",
    });
  }
}
