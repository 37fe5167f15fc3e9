import { environment } from "../../config/environment.js";
import { ConfigError } from "../../util/errors.js";
import { registerSecret } from "../../util/log.js";
import type { ObjectStoreOptions } from "../object-store.js";

/** Everything needed to talk to S3 or an S3-compatible store (R2, MinIO ...). */
export interface S3Config {
  region: string;
  /** Custom endpoint; when set, path-style addressing is used (`http://host/bucket/key`). */
  endpoint: string | undefined;
  /** Explicit credentials; undefined means the AWS SDK's default chain (profiles, SSO, instance roles). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

/**
 * Resolves S3 settings from options, then the standard AWS environment variables: `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` (or `AWS_DEFAULT_REGION`), `AWS_ENDPOINT_URL_S3`
 * / `AWS_ENDPOINT_URL`. Secrets are registered for masking.
 *
 * @example
 * resolveS3Config({ endpoint: "http://127.0.0.1:9000", credentials: { access_key_id: "k", secret_access_key: "s" } })
 */
export function resolveS3Config(options: ObjectStoreOptions = {}): S3Config {
  const env = options.env ?? environment();
  const creds = options.credentials ?? {};
  const endpoint = options.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  if (endpoint !== undefined && !URL.canParse(endpoint)) {
    throw new ConfigError(`invalid S3 endpoint "${endpoint}"`, {
      hint: "an endpoint is a URL such as http://127.0.0.1:9000 or https://<account>.r2.cloudflarestorage.com",
    });
  }
  const fromOptions = creds.access_key_id !== undefined || creds.secret_access_key !== undefined;
  const accessKeyId = fromOptions ? creds.access_key_id : env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = fromOptions ? creds.secret_access_key : env.AWS_SECRET_ACCESS_KEY;
  const sessionToken = fromOptions ? creds.session_token : env.AWS_SESSION_TOKEN;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError("S3 credentials need both an access key id and a secret access key", {
      hint: fromOptions
        ? "pass both access_key_id and secret_access_key in credentials"
        : "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    });
  }
  registerSecret(secretAccessKey);
  registerSecret(sessionToken);
  return {
    // Custom endpoints (MinIO, R2) accept any region name; AWS itself needs the bucket's region.
    region: options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
    endpoint,
    credentials:
      accessKeyId !== undefined && secretAccessKey !== undefined
        ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }
        : undefined,
  };
}
