import { brand, isKind } from "./brand.js";

/**
 * The error hierarchy of ferry. Every error says what the caller must do (`hint`), whether retrying can help
 * (`transient`), and where it happened (structured `fields`: pipeline, resource, table, column, loadId ...).
 *
 * Recognise them with `isFerryError(err)` / `isFerryError(err, "config")` rather than `instanceof`: an error thrown
 * by another copy of ferry (a user module with its own `node_modules/ferry`) is not an instance of this copy's class.
 *
 * @example
 * try { await p.run(src) } catch (e) { if (isFerryError(e) && e.transient) retryLater() }
 */
export interface ErrorFields {
  pipeline?: string;
  resource?: string;
  table?: string;
  column?: string;
  loadId?: string;
  job?: string;
  [key: string]: string | number | undefined;
}

export interface FerryErrorOptions {
  hint?: string;
  fields?: ErrorFields;
  cause?: unknown;
  transient?: boolean;
}

export class FerryError extends Error {
  readonly hint: string | undefined;
  readonly fields: ErrorFields;
  readonly transient: boolean;
  /** Stable machine-readable code, e.g. `schema_contract`. */
  readonly code: string = "ferry_error";

  constructor(message: string, options: FerryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.fields = options.fields ?? {};
    this.transient = options.transient ?? false;
  }
}
brand(FerryError, "error");

/** Wrong or missing configuration: fix the options, environment or file named in the message. */
export class ConfigError extends FerryError {
  override readonly code = "config";
}

/** A schema contract (freeze / discard) rejected data. */
export class SchemaContractError extends FerryError {
  override readonly code = "schema_contract";
}

/** Data that cannot be represented (e.g. circular references). */
export class DataError extends FerryError {
  override readonly code = "bad_data";
}

/** Raised while running a resource's generator or steps. */
export class ExtractError extends FerryError {
  override readonly code = "extract";
}

/** A destination error. `transient` tells whether the load job may be retried. */
export class DestinationError extends FerryError {
  override readonly code = "destination";
}

/** A load package failed terminally; its files are kept for inspection. */
export class LoadPackageFailedError extends FerryError {
  override readonly code = "load_failed";
}

/** Another process is running the pipeline (its lock is held): try again once it is done. */
export class PipelineBusyError extends FerryError {
  override readonly code = "pipeline_busy";
  constructor(message: string, options: FerryErrorOptions = {}) {
    super(message, { transient: true, ...options });
  }
}

/** The error class of each code ferry's own errors carry. */
export interface FerryErrorByCode {
  ferry_error: FerryError;
  config: ConfigError;
  schema_contract: SchemaContractError;
  bad_data: DataError;
  extract: ExtractError;
  destination: DestinationError;
  load_failed: LoadPackageFailedError;
  pipeline_busy: PipelineBusyError;
}

/**
 * True for ferry's errors, also those thrown by another copy of the package; with `code`, only for errors of that
 * code (`"config"`, `"destination"`, ... `"http"`).
 *
 * @example
 * if (isFerryError(err, "destination") && err.transient) retry();
 */
export function isFerryError(err: unknown): err is FerryError;
export function isFerryError<C extends keyof FerryErrorByCode>(
  err: unknown,
  code: C,
): err is FerryErrorByCode[C];
export function isFerryError(err: unknown, code: string): err is FerryError;
export function isFerryError(err: unknown, code?: string): boolean {
  return isKind(err, "error") && (code === undefined || (err as FerryError).code === code);
}

/** Turns anything thrown into a one-line message (no stack). */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Formats an error the way the CLI prints it: message, structured fields, hint, and the cause chain. */
export function describeError(err: unknown): string {
  const lines: string[] = [errorMessage(err)];
  if (isFerryError(err)) {
    const fields = Object.entries(err.fields).filter(([, v]) => v !== undefined);
    if (fields.length > 0) lines.push(`  where: ${fields.map(([k, v]) => `${k}=${v}`).join(" ")}`);
  }
  let cause = err instanceof Error ? err.cause : undefined;
  let depth = 0;
  while (cause !== undefined && depth < 5) {
    const msg = errorMessage(cause);
    if (!lines[0]?.includes(msg)) lines.push(`  caused by: ${msg}`);
    cause = cause instanceof Error ? cause.cause : undefined;
    depth++;
  }
  if (isFerryError(err) && err.hint) lines.push(`  hint: ${err.hint}`);
  return lines.join("\n");
}
