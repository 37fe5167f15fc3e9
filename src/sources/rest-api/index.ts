/**
 * The REST API source: `import { restApiSource } from "ferry/sources/rest-api"`.
 */

export type { Auth } from "../../http/auth.js";
export { HttpClient, type HttpClientOptions } from "../../http/client.js";
export type { HttpRequest, HttpResponse } from "../../http/types.js";
export type { AuthConfig } from "./auth/auth-config.js";
export { createAuth } from "./auth/index.js";
export type {
  ClientConfig,
  EndpointConfig,
  IncrementalArgs,
  IncrementalParamConfig,
  PaginatorSetting,
  ParamValue,
  ProcessingStep,
  ResolveParamConfig,
  ResourceConfig,
  ResponseAction,
  RestApiConfig,
  RestColumnHint,
  RestIncrementalConfig,
} from "./config.js";
export { selectPath } from "./jsonpath.js";
export { createPaginator, paginatorDocs } from "./paginators/index.js";
export type { Paginator, PaginatorConfig } from "./paginators/paginator.js";
export { restApiSource } from "./rest-api-source.js";
