/** Auth settings as in specs (dlt's option names). Secrets usually come from `${env:NAME}`. */
export type AuthConfig =
  | { type: "bearer"; token: string }
  | { type: "api_key"; name?: string; api_key: string; location?: "header" | "query" | "cookie" }
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
    };
