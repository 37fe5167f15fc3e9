/**
 * The process environment, for the code that takes variables by their own names: cloud settings (`AWS_*`,
 * `AZURE_STORAGE_*`, `GOOGLE_*`, `STORAGE_EMULATOR_HOST`), libpq's `PG*` defaults, `${env:NAME}` in specs and
 * `FERRY__<PATH>` overrides. This folder is the only place that reads or writes `process.env`; ferry's own settings
 * are parsed in `settings.ts`. Every variable is listed in docs/configuration.md.
 *
 * @example
 * const token = environment().API_TOKEN;
 */
export type Environment = Readonly<Record<string, string | undefined>>;

export function environment(): Environment {
  return process.env;
}

/**
 * Sets a variable that a dependency reads, unless the user set it: e.g. the AWS SDK's
 * `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED`.
 *
 * @example
 * defaultEnvironment("AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED", "true");
 */
export function defaultEnvironment(name: string, value: string): void {
  process.env[name] ??= value;
}

/**
 * The environment of a child process that runs code ferry does not trust (the plugin host): `PATH` and `NODE_ENV`
 * only, so that no secret of ferry's environment is in that process.
 *
 * @example
 * fork(hostMain, [], { env: untrustedChildEnvironment() });
 */
export function untrustedChildEnvironment(): Record<string, string> {
  return { PATH: process.env.PATH ?? "", NODE_ENV: process.env.NODE_ENV ?? "production" };
}

/**
 * What code bundled for the plugin sandbox (which has no `process`) sees in place of `process.env.NODE_ENV`: npm
 * packages often test it unguarded.
 */
export const SANDBOX_DEFINES: Readonly<Record<string, string>> = { "process.env.NODE_ENV": '"production"' };
