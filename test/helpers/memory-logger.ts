import type { Logger } from "../../src/util/log.js";

/** A log line a logger kept. */
export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  msg: string;
}

/** A logger that keeps every line (tests assert on what a server, scheduler or plugin said). */
export function memoryLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine["level"]) => (msg: string) => void lines.push({ level, msg });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
