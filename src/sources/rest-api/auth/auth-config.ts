import type { Auth } from "../../../http/auth.js";

/**
 * Auth settings as in specs (dlt's option names). Secrets usually come from `${env:NAME}`. A `token` without a
 * `type` is bearer auth (dlt's shorthand); a ferry `Auth` object (`{ apply, secrets }`) is custom auth.
 */
export type AuthConfig =
  | { type?: "bearer"; token: string }
  | { type: "api_key"; name?: string; api_key: string; location?: "header" | "query" | "param" | "cookie" }
  | { type: "http_basic"; username: string; password: string }
  | {
      type: "oauth2_client_credentials";
      access_token_url: string;
      client_id: string;
      client_secret: string;
      scope?: string;
      /** Extra form fields for the token request. */
      access_token_request_data?: Record<string, string>;
      /** Seconds a token lives when the token response has no `expires_in`. Default 3600. */
      default_token_expiration?: number;
    }
  | Auth;

/** The auth types and the option each must have. */
export const AUTH_TYPES = {
  bearer: { options: ["token"], required: ["token"] },
  api_key: { options: ["name", "api_key", "location"], required: ["api_key"] },
  http_basic: { options: ["username", "password"], required: ["username", "password"] },
  oauth2_client_credentials: {
    options: [
      "access_token_url",
      "client_id",
      "client_secret",
      "scope",
      "access_token_request_data",
      "default_token_expiration",
    ],
    required: ["access_token_url", "client_id", "client_secret"],
  },
} as const;

export type AuthType = keyof typeof AUTH_TYPES;

const REFUSED: Record<string, string> = {
  session: "a requests session is Python; remove it",
  access_token:
    "ferry fetches the token from access_token_url itself (as dlt does when it expires); remove access_token",
};

/** Whether a value is a ferry `Auth` object (custom auth) rather than a config. */
export function isAuthObject(v: unknown): v is Auth {
  return typeof v === "object" && v !== null && typeof (v as Auth).apply === "function";
}

/** The type an auth config means: its `type`, or bearer for dlt's `{ token }` shorthand. */
export function authTypeOf(config: Record<string, unknown>): unknown {
  return config.type === undefined ? "bearer" : config.type;
}

/** The problems of an auth setting, each with the option it concerns ("" for the setting itself). */
export function authProblems(value: unknown): { option: string; problem: string }[] {
  const types = Object.keys(AUTH_TYPES).join(", ");
  if (value === null || value === undefined || isAuthObject(value)) return [];
  if (typeof value === "string") {
    const known = Object.hasOwn(AUTH_TYPES, value);
    return [
      {
        option: "",
        problem: known
          ? `${JSON.stringify(value)} names an auth type without its credentials; write { type: ${value}, ${AUTH_TYPES[value as AuthType].required.join(", ")} }`
          : `${JSON.stringify(value)} is not one of ${types}`,
      },
    ];
  }
  if (typeof value !== "object" || Array.isArray(value)) {
    return [
      { option: "", problem: `expected an object with a type (or a token), got ${JSON.stringify(value)}` },
    ];
  }
  const o = value as Record<string, unknown>;
  const type = authTypeOf(o);
  if (typeof type !== "string" || !Object.hasOwn(AUTH_TYPES, type)) {
    return [{ option: "type", problem: `${JSON.stringify(type)} is not one of ${types}` }];
  }
  const spec = AUTH_TYPES[type as AuthType];
  const out: { option: string; problem: string }[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (k === "type" || v === undefined) continue;
    const why = REFUSED[k];
    if (why) out.push({ option: k, problem: why });
    else if (!(spec.options as readonly string[]).includes(k)) {
      const shorthand = o.type === undefined ? " (without a type, auth is bearer)" : "";
      out.push({
        option: k,
        problem: `unknown option for ${type} auth${shorthand}; its options: ${spec.options.join(", ")}`,
      });
    } else if (k === "access_token_request_data") {
      if (typeof v !== "object" || v === null || Array.isArray(v))
        out.push({ option: k, problem: "expected a mapping" });
    } else if (k === "default_token_expiration") {
      if (typeof v !== "number" || !(v > 0))
        out.push({ option: k, problem: "must be a positive number of seconds" });
    } else if (k === "location") {
      if (!["header", "query", "param", "cookie"].includes(v as string)) {
        out.push({ option: k, problem: `${JSON.stringify(v)} is not one of header, query, param, cookie` });
      }
    } else if (typeof v !== "string")
      out.push({ option: k, problem: `expected a string, got ${JSON.stringify(v)}` });
  }
  for (const r of spec.required) if (o[r] === undefined) out.push({ option: r, problem: "is required" });
  return out;
}
