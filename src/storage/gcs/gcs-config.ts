import { readFileSync } from "node:fs";
import { environment } from "../../config/environment.js";
import { ConfigError, errorMessage } from "../../util/errors.js";
import { registerSecret } from "../../util/log.js";
import type { ObjectStoreOptions } from "../object-store.js";

/** A service account key (the JSON file `GOOGLE_APPLICATION_CREDENTIALS` points at). */
export interface GcsServiceAccount {
  client_email: string;
  private_key: string;
  project_id?: string;
  [key: string]: unknown;
}

/** Everything needed to talk to Google Cloud Storage (or an emulator). */
export interface GcsConfig {
  /** A custom API endpoint (an emulator such as fake-gcs-server); undefined for Google's. */
  endpoint: string | undefined;
  /**
   * Whether requests carry credentials: always for Google's endpoint; for a custom `endpoint` option only with
   * explicit credentials; never for `STORAGE_EMULATOR_HOST` (emulators take none, whatever else is set).
   */
  authenticate: boolean;
  /** Explicit service account credentials; undefined means Application Default Credentials. */
  credentials: GcsServiceAccount | undefined;
  /** Where the credentials came from, for messages (never their content). */
  credentialsSource: string | undefined;
  projectId: string | undefined;
}

function parseServiceAccount(text: string, source: string): GcsServiceAccount {
  let parsed: Partial<GcsServiceAccount>;
  try {
    parsed = JSON.parse(text) as Partial<GcsServiceAccount>;
  } catch (err) {
    throw new ConfigError(
      `GCS credentials in ${source} are not valid JSON (${errorMessage(err).slice(0, 80)})`,
      {
        hint: "GOOGLE_APPLICATION_CREDENTIALS must name a service account key file (JSON) downloaded from Google Cloud",
      },
    );
  }
  if (typeof parsed.private_key === "string") registerSecret(parsed.private_key);
  if (typeof parsed.client_email !== "string" || typeof parsed.private_key !== "string") {
    throw new ConfigError(
      `GCS credentials in ${source} are not a service account key (client_email, private_key)`,
      {
        hint: "GOOGLE_APPLICATION_CREDENTIALS must name a service account key file (JSON) downloaded from Google Cloud",
      },
    );
  }
  return parsed as GcsServiceAccount;
}

/**
 * Resolves GCS settings from options, then the environment: `STORAGE_EMULATOR_HOST` (emulator endpoint, no
 * authentication; the `endpoint` option is a custom endpoint that authenticates when credentials are given), `GOOGLE_APPLICATION_CREDENTIALS` (service account key file), `GOOGLE_CLOUD_PROJECT`.
 * Explicit credentials: `credentials_file` or `credentials_json`. Without any, Application Default Credentials
 * (gcloud login, metadata server) apply. The private key is registered for masking.
 *
 * @example
 * resolveGcsConfig({ env: { STORAGE_EMULATOR_HOST: "http://127.0.0.1:4443" } }).endpoint // "http://127.0.0.1:4443"
 */
export function resolveGcsConfig(options: ObjectStoreOptions = {}): GcsConfig {
  const env = options.env ?? environment();
  const c = options.credentials ?? {};
  const emulator = options.endpoint === undefined && env.STORAGE_EMULATOR_HOST !== undefined;
  let endpoint = options.endpoint ?? env.STORAGE_EMULATOR_HOST;
  if (endpoint !== undefined) {
    if (!/^https?:\/\//i.test(endpoint)) endpoint = `http://${endpoint}`;
    if (!URL.canParse(endpoint)) throw new ConfigError(`invalid GCS endpoint "${endpoint}"`);
    endpoint = endpoint.replace(/\/+$/, "");
  }
  let credentials: GcsServiceAccount | undefined;
  let credentialsSource: string | undefined;
  if (c.credentials_json !== undefined) {
    registerSecret(c.credentials_json);
    credentialsSource = "the credentials_json option";
    credentials = parseServiceAccount(c.credentials_json, credentialsSource);
  } else {
    const file = c.credentials_file ?? env.GOOGLE_APPLICATION_CREDENTIALS;
    if (file) {
      credentialsSource = c.credentials_file
        ? `credentials_file ${file}`
        : `GOOGLE_APPLICATION_CREDENTIALS=${file}`;
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (err) {
        throw new ConfigError(`cannot read GCS credentials: ${credentialsSource}: ${errorMessage(err)}`, {
          hint: "GOOGLE_APPLICATION_CREDENTIALS must name a readable service account key file",
        });
      }
      credentials = parseServiceAccount(text, credentialsSource);
    }
  }
  return {
    endpoint,
    authenticate: endpoint === undefined || (!emulator && credentials !== undefined),
    credentials,
    credentialsSource,
    projectId: c.project_id ?? credentials?.project_id ?? env.GOOGLE_CLOUD_PROJECT,
  };
}
