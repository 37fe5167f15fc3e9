import { environment } from "../../config/environment.js";
import { ConfigError } from "../../util/errors.js";
import { registerSecret } from "../../util/log.js";
import type { ObjectStoreOptions } from "../object-store.js";

/** Azurite's well-known development account (used for `UseDevelopmentStorage=true`). */
const DEV_ACCOUNT = "devstoreaccount1";
const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** Everything needed to talk to an Azure Blob Storage account (or Azurite). */
export interface AzureConfig {
  accountName: string;
  /** Blob service endpoint, e.g. `https://<account>.blob.core.windows.net` or Azurite's `http://127.0.0.1:10000/devstoreaccount1`. */
  endpoint: string;
  /** Shared key; or a SAS token; one of the two is set. */
  accountKey: string | undefined;
  sasToken: string | undefined;
}

const ENV_HINT =
  "set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY (or " +
  "AZURE_STORAGE_SAS_TOKEN), or pass credentials { account_name, account_key } (or connection_string)";

/**
 * Parses an Azure Storage connection string (`AccountName=...;AccountKey=...;BlobEndpoint=...`).
 *
 * @example
 * parseConnectionString("AccountName=a;AccountKey=k;EndpointSuffix=core.windows.net").AccountName // "a"
 */
export function parseConnectionString(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function fromConnectionString(value: string): Partial<AzureConfig> {
  registerSecret(value);
  const cs = parseConnectionString(value);
  if (cs.UseDevelopmentStorage === "true") {
    return {
      accountName: DEV_ACCOUNT,
      accountKey: DEV_KEY,
      endpoint: `http://127.0.0.1:10000/${DEV_ACCOUNT}`,
    };
  }
  const accountName = cs.AccountName;
  const protocol = cs.DefaultEndpointsProtocol ?? "https";
  const endpoint =
    cs.BlobEndpoint ??
    (accountName
      ? `${protocol}://${accountName}.blob.${cs.EndpointSuffix ?? "core.windows.net"}`
      : undefined);
  return {
    ...(accountName ? { accountName } : {}),
    ...(endpoint ? { endpoint } : {}),
    accountKey: cs.AccountKey,
    sasToken: cs.SharedAccessSignature,
  };
}

/**
 * Resolves Azure Blob settings from options, then the environment: `AZURE_STORAGE_CONNECTION_STRING`, or
 * `AZURE_STORAGE_ACCOUNT_NAME` (or `AZURE_STORAGE_ACCOUNT`) with `AZURE_STORAGE_ACCOUNT_KEY` (or
 * `AZURE_STORAGE_KEY`) or `AZURE_STORAGE_SAS_TOKEN`; the endpoint from `options.endpoint` or
 * `AZURE_STORAGE_ENDPOINT` (Azurite: `http://127.0.0.1:10000/devstoreaccount1`). Secrets are registered for masking.
 *
 * @example
 * resolveAzureConfig({ credentials: { account_name: "acme", account_key: "..." } }).endpoint
 * // "https://acme.blob.core.windows.net"
 */
export function resolveAzureConfig(options: ObjectStoreOptions = {}): AzureConfig {
  const env = options.env ?? environment();
  const c = options.credentials ?? {};
  let found: Partial<AzureConfig>;
  if (c.connection_string !== undefined) found = fromConnectionString(c.connection_string);
  else if (c.account_name !== undefined || c.account_key !== undefined || c.sas_token !== undefined) {
    found = { accountName: c.account_name, accountKey: c.account_key, sasToken: c.sas_token };
  } else if (env.AZURE_STORAGE_CONNECTION_STRING)
    found = fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING);
  else {
    found = {
      accountName: env.AZURE_STORAGE_ACCOUNT_NAME ?? env.AZURE_STORAGE_ACCOUNT,
      accountKey: env.AZURE_STORAGE_ACCOUNT_KEY ?? env.AZURE_STORAGE_KEY,
      sasToken: env.AZURE_STORAGE_SAS_TOKEN,
    };
  }
  const endpoint = options.endpoint ?? found.endpoint ?? env.AZURE_STORAGE_ENDPOINT;
  const accountName =
    found.accountName ?? (endpoint ? /\/\/([^./:]+)\.blob\./.exec(endpoint)?.[1] : undefined) ?? undefined;
  if (!accountName) {
    throw new ConfigError("no Azure storage account configured", { hint: ENV_HINT });
  }
  if (!found.accountKey && !found.sasToken) {
    throw new ConfigError(`no credentials for Azure storage account "${accountName}"`, { hint: ENV_HINT });
  }
  registerSecret(found.accountKey);
  registerSecret(found.sasToken);
  const resolved = endpoint ?? `https://${accountName}.blob.core.windows.net`;
  if (!URL.canParse(resolved)) {
    throw new ConfigError(`invalid Azure blob endpoint "${resolved}"`, {
      hint: "e.g. https://<account>.blob.core.windows.net, or http://127.0.0.1:10000/devstoreaccount1 for Azurite",
    });
  }
  return {
    accountName,
    endpoint: resolved.replace(/\/+$/, ""),
    accountKey: found.accountKey || undefined,
    sasToken: found.sasToken ? found.sasToken.replace(/^\?/, "") : undefined,
  };
}
