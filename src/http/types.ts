/** Query parameter values; undefined ones are left out, a list repeats the parameter (`ids=1&ids=2`). */
export type QueryParams = Record<
  string,
  string | number | boolean | undefined | readonly (string | number | boolean)[]
>;

/** A request as paginators and auth see and change it. URL may be relative to the client's base URL. */
export interface HttpRequest {
  method: string;
  url: string;
  params?: QueryParams;
  headers?: Record<string, string>;
  /** JSON body. */
  json?: unknown;
  /** Raw body (e.g. form-encoded), with its content type in headers. */
  body?: string;
}

/** A response with its body read as text; `json()` parses once and explains a body that is not JSON. */
export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Final URL (after the client added base URL and query). */
  url: string;
  text: string;
  json(): unknown;
  request: HttpRequest;
}
