import type { Auth, AuthTransport } from "../../../http/auth.js";
import { HttpError } from "../../../http/http-error.js";
import { ConfigError, errorMessage } from "../../../util/errors.js";
import { redactSecrets, registerSecret } from "../../../util/log.js";
import type { AuthConfig } from "./auth-config.js";
import { requireString, setHeader } from "./shared.js";

/** OAuth2 client credentials settings (dlt's option names), as in `AuthConfig`. */
export type OAuth2ClientCredentialsOptions = Omit<
  Extract<AuthConfig, { type: "oauth2_client_credentials" }>,
  "type"
>;

const TYPE = "oauth2_client_credentials";
const HINT = "check client_id, client_secret, scope and access_token_url";

/**
 * OAuth2 client credentials: fetches a token from `access_token_url`, sends it as a bearer token, renews it before
 * it expires (and once after a 401). Concurrent requests share one token fetch.
 *
 * @example
 * const auth = oauth2ClientCredentials({ access_token_url: "https://id.example.com/token", client_id, client_secret });
 */
export function oauth2ClientCredentials(options: OAuth2ClientCredentialsOptions): Auth {
  requireString(options.access_token_url, "access_token_url", TYPE);
  requireString(options.client_id, "client_id", TYPE);
  requireString(options.client_secret, "client_secret", TYPE);
  const lifetime = options.default_token_expiration;
  if (lifetime !== undefined && !(typeof lifetime === "number" && lifetime > 0)) {
    throw new ConfigError(
      `auth.default_token_expiration must be a positive number of seconds for type ${TYPE}`,
      {
        hint: "leave it out for the default of 3600 seconds",
      },
    );
  }
  registerSecret(options.client_secret);
  return new OAuth2ClientCredentials(options);
}

class OAuth2ClientCredentials implements Auth {
  readonly #opts: OAuth2ClientCredentialsOptions;
  readonly #secrets: Set<string>;
  #token: string | undefined;
  #expiresAt = 0;
  #inflight: Promise<string> | undefined;

  constructor(options: OAuth2ClientCredentialsOptions) {
    this.#opts = options;
    this.#secrets = new Set([options.client_secret]);
  }

  async apply(request: Parameters<Auth["apply"]>[0], transport: AuthTransport): Promise<void> {
    const token =
      this.#token !== undefined && Date.now() < this.#expiresAt ? this.#token : await this.#fetch(transport);
    setHeader(request, "Authorization", `Bearer ${token}`);
  }

  async refresh(transport: AuthTransport): Promise<boolean> {
    this.#token = undefined;
    await this.#fetch(transport);
    return true;
  }

  secrets(): string[] {
    return [...this.#secrets];
  }

  /** One token request at a time; callers arriving meanwhile share it. */
  #fetch(transport: AuthTransport): Promise<string> {
    this.#inflight ??= this.#requestToken(transport).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #requestToken(transport: AuthTransport): Promise<string> {
    const o = this.#opts;
    const url = redactSecrets(o.access_token_url);
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: o.client_id,
      client_secret: o.client_secret,
    });
    if (o.scope) form.set("scope", o.scope);
    for (const [k, v] of Object.entries(o.access_token_request_data ?? {})) form.set(k, String(v));
    const started = Date.now();
    let res: Awaited<ReturnType<AuthTransport["send"]>>;
    try {
      res = await transport.send({
        method: "POST",
        url: o.access_token_url,
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: form.toString(),
      });
    } catch (err) {
      throw new HttpError(`OAuth2 token request to ${url} failed: ${this.#mask(errorMessage(err))}`, 0, url, {
        transient: true,
        hint: "the token endpoint is unreachable; run again later",
      });
    }
    if (res.status < 200 || res.status >= 300) {
      throw new HttpError(
        `OAuth2 token request to ${url} failed with status ${res.status}: ${this.#snippet(res.text)}`,
        res.status,
        url,
        { transient: res.status === 429 || res.status >= 500, hint: HINT },
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      body = undefined;
    }
    const token = (body as { access_token?: unknown } | null | undefined)?.access_token;
    if (typeof token !== "string" || token.length === 0) {
      throw new HttpError(`OAuth2 token response of ${url} has no access_token`, res.status, url, {
        hint: HINT,
      });
    }
    registerSecret(token);
    this.#secrets.add(token);
    const expiresIn = Number((body as { expires_in?: unknown }).expires_in);
    const seconds =
      Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : (o.default_token_expiration ?? 3600);
    // Renew a little early so a token does not expire between apply() and the API reading it.
    const margin = Math.min(60, seconds / 10);
    this.#token = token;
    this.#expiresAt = started + (seconds - margin) * 1000;
    return token;
  }

  #mask(text: string): string {
    let out = redactSecrets(text);
    for (const s of this.#secrets) out = out.split(s).join("***");
    return out;
  }

  #snippet(text: string): string {
    const t = this.#mask(text.replace(/\s+/g, " ").trim());
    return t.length > 300 ? `${t.slice(0, 300)}...` : t || "(empty body)";
  }
}
