import type { Client } from "@temporalio/client";
import { ConfigError, errorMessage, FerryError } from "../../util/errors.js";
import { temporalPackage } from "./sdk.js";

/**
 * Checks `--temporal HOST:PORT`.
 *
 * @example
 * temporalAddress("127.0.0.1:7233") // "127.0.0.1:7233"
 */
export function temporalAddress(value: string): string {
  const v = value.trim().replace(/^[a-z]+:\/\//i, "");
  const m = /^(\[[0-9a-f:]+\]|[\w.-]+):(\d{1,5})$/i.exec(v);
  if (!m || Number(m[2]) > 65535)
    throw new ConfigError(
      `--temporal must be HOST:PORT (the Temporal frontend), not ${JSON.stringify(value)}`,
      {
        hint: "e.g. --temporal 127.0.0.1:7233",
      },
    );
  return v;
}

/** A client of a Temporal namespace; a server that does not answer is a clear error. */
export async function connectClient(address: string, namespace: string): Promise<Client> {
  const sdk = await temporalPackage<typeof import("@temporalio/client")>("@temporalio/client");
  try {
    const connection = await sdk.Connection.connect({
      address: temporalAddress(address),
      connectTimeout: "10 seconds",
    });
    return new sdk.Client({ connection, namespace });
  } catch (err) {
    throw new FerryError(`cannot reach Temporal at ${address}: ${errorMessage(err)}`, {
      cause: err,
      transient: true,
      hint: "check --temporal HOST:PORT and that the Temporal server runs (for development: temporal server start-dev)",
    });
  }
}
