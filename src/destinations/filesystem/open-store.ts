import { LocalStore } from "../../storage/local/local-store.js";
import type { ObjectStore } from "../../storage/object-store.js";
import { DestinationError, errorMessage, isFerryError } from "../../util/errors.js";
import type { FilesystemOptions, ResolvedFilesystemOptions } from "./options.js";

/**
 * Opens the store a filesystem destination writes into: the given store, a local folder for `file:` URLs, or a
 * cloud bucket through `openObjectStore` (credentials from the options, else the cloud's environment variables).
 *
 * @example
 * const store = await openDestinationStore(resolved, options);
 */
export async function openDestinationStore(
  resolved: ResolvedFilesystemOptions,
  options: FilesystemOptions,
): Promise<ObjectStore> {
  if (options.store) return options.store;
  if (resolved.localRoot !== undefined) return new LocalStore(resolved.localRoot);
  // Imported only for cloud URLs, so local use loads no cloud SDK.
  const { openObjectStore } = await import("../../storage/open.js");
  try {
    return await openObjectStore(resolved.location!, {
      ...(resolved.endpoint ? { endpoint: resolved.endpoint } : {}),
      ...(resolved.region ? { region: resolved.region } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
  } catch (err) {
    if (isFerryError(err, "config") || isFerryError(err, "destination")) throw err;
    throw new DestinationError(`cannot open ${resolved.location}: ${errorMessage(err)}`, {
      cause: err,
      hint: "check the bucket name, the endpoint and the credentials (options or the cloud's environment variables)",
    });
  }
}
