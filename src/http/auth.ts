import type { HttpRequest } from "./types.js";

/** Sends requests for auth flows that need their own calls (token endpoints). */
export interface AuthTransport {
  send(request: HttpRequest): Promise<{ status: number; text: string; json(): unknown }>;
}

/**
 * Adds credentials to requests. One small interface per scheme (bearer, api key, basic, OAuth2 client credentials).
 *
 * @example
 * const auth: Auth = { apply: async (r) => { r.headers = { ...r.headers, Authorization: "Bearer x" } }, secrets: () => ["x"] };
 */
export interface Auth {
  /** Adds credentials to the request (headers, query, cookie). */
  apply(request: HttpRequest, transport: AuthTransport): Promise<void>;
  /** After a 401: renew credentials and return true to retry the request once. */
  refresh?(transport: AuthTransport): Promise<boolean>;
  /** Values to mask in logs and errors. */
  secrets(): string[];
}
