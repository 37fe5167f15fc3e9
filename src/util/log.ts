/**
 * A tiny logger interface. Resources get one as `ctx.log`; pipelines accept one in their options.
 *
 * @example
 * const p = pipeline({ name: "x", logger: consoleLogger("debug") });
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Logs to stderr (stdout stays free for `--json` output), masking secrets. */
export function consoleLogger(level: LogLevel = "info", prefix = "ferry"): Logger {
  const at = ORDER[level];
  const write = (lvl: LogLevel, message: string) => {
    if (ORDER[lvl] < at) return;
    process.stderr.write(`${prefix} ${lvl.padEnd(5)} ${redactSecrets(message)}\n`);
  };
  return {
    debug: (m) => write("debug", m),
    info: (m) => write("info", m),
    warn: (m) => write("warn", m),
    error: (m) => write("error", m),
  };
}

/**
 * A logger for machines: one JSON object per line on stderr (`{"time","level","msg"}`), secrets masked.
 *
 * @example
 * jsonLogger("info").warn("lag 1200 events") // {"time":"2026-12-05T10:00:00.000Z","level":"warn","msg":"lag 1200 events"}
 */
export function jsonLogger(level: LogLevel = "info"): Logger {
  const at = ORDER[level];
  const write = (lvl: LogLevel, message: string) => {
    if (ORDER[lvl] < at) return;
    process.stderr.write(
      `${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg: redactSecrets(message) })}\n`,
    );
  };
  return {
    debug: (m) => write("debug", m),
    info: (m) => write("info", m),
    warn: (m) => write("warn", m),
    error: (m) => write("error", m),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Wraps a logger so every message gets a prefix (e.g. the resource name). */
export function childLogger(parent: Logger, prefix: string): Logger {
  return {
    debug: (m) => parent.debug(`${prefix}: ${m}`),
    info: (m) => parent.info(`${prefix}: ${m}`),
    warn: (m) => parent.warn(`${prefix}: ${m}`),
    error: (m) => parent.error(`${prefix}: ${m}`),
  };
}

const registeredSecrets = new Set<string>();

/** Registers a secret value (token, password) so it is masked in every log line and error printed by ferry. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) registeredSecrets.add(value);
}

/** Masks passwords in URLs, registered secrets and common `token=...` patterns. */
export function redactSecrets(text: string): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)([^@\s]+)@/gi, "$1***@");
  out = out.replace(/((?:password|passwd|pwd|token|secret|api[_-]?key)\s*[=:]\s*)([^\s&"',]+)/gi, "$1***");
  for (const s of registeredSecrets) out = out.split(s).join("***");
  return out;
}
