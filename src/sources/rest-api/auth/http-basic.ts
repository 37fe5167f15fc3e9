import type { Auth } from "../../../http/auth.js";
import { registerSecret } from "../../../util/log.js";
import { requireString, setHeader } from "./shared.js";

/**
 * `Authorization: Basic base64(username:password)`. Either may be empty (a key as the username, or as the password
 * with an empty username), as dlt allows.
 *
 * @example
 * const auth = httpBasicAuth("me", process.env.PASSWORD!);
 */
export function httpBasicAuth(username: string, password: string): Auth {
  const user = requireString(username, "username", "http_basic", true);
  const pass = requireString(password, "password", "http_basic", true);
  const encoded = Buffer.from(`${user}:${pass}`, "utf8").toString("base64");
  registerSecret(pass);
  registerSecret(encoded);
  return {
    apply: async (request) => setHeader(request, "Authorization", `Basic ${encoded}`),
    secrets: () => [pass, encoded].filter((s) => s.length > 0),
  };
}
