import type { Auth } from "../../../http/auth.js";
import { registerSecret } from "../../../util/log.js";
import { requireString, setHeader } from "./shared.js";

/**
 * `Authorization: Bearer <token>` on every request.
 *
 * @example
 * const auth = bearerAuth(process.env.API_TOKEN!);
 */
export function bearerAuth(token: string): Auth {
  const value = requireString(token, "token", "bearer");
  registerSecret(value);
  return {
    apply: async (request) => setHeader(request, "Authorization", `Bearer ${value}`),
    secrets: () => [value],
  };
}
