import { ConfigError, errorMessage } from "../../util/errors.js";

/** The Temporal SDK version ferry is built and tested with (pinned exactly). */
export const TEMPORAL_SDK_VERSION = "1.24.0";

/** The packages `ferry worker` and the Temporal commands need (optional peer dependencies of ferry). */
export const TEMPORAL_PACKAGES = [
  "@temporalio/client",
  "@temporalio/worker",
  "@temporalio/workflow",
  "@temporalio/activity",
] as const;

/** The exact command that installs them. */
export const TEMPORAL_INSTALL = `npm install --save-exact ${TEMPORAL_PACKAGES.map((p) => `${p}@${TEMPORAL_SDK_VERSION}`).join(" ")}`;

type Importer = (specifier: string) => Promise<unknown>;

/**
 * Imports a Temporal SDK package. The SDK (about 260 MB installed) is not a dependency of ferry: users who never
 * run `ferry worker` do not download it. When it is missing, the error names it and gives the install command.
 *
 * @example
 * const { Client, Connection } = await temporalPackage<typeof import("@temporalio/client")>("@temporalio/client");
 */
export async function temporalPackage<T>(
  name: (typeof TEMPORAL_PACKAGES)[number],
  importer: Importer = (s) => import(s),
): Promise<T> {
  try {
    return (await importer(name)) as T;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new ConfigError(`the Temporal SDK is not installed: ${name} is missing`, {
        cause: err,
        hint: `ferry's Temporal commands need the Temporal SDK ${TEMPORAL_SDK_VERSION} (an optional peer dependency, not installed with ferry): ${TEMPORAL_INSTALL}`,
      });
    }
    throw new ConfigError(`the Temporal SDK (${name}) failed to load: ${errorMessage(err)}`, {
      cause: err,
      hint: `reinstall it: ${TEMPORAL_INSTALL}`,
    });
  }
}
