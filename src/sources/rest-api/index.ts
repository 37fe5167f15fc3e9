/**
 * The REST API source: `import { restApiSource } from "ferry/sources/rest-api"`.
 */

export type { Auth } from "../../http/auth.js";
export { HttpClient, type HttpClientOptions, type ResponsePolicy } from "../../http/client.js";
export { HttpError } from "../../http/http-error.js";
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
export { fetchPages, selectRecords } from "./fetch-pages.js";
export { selectPath } from "./jsonpath.js";
export { createPaginator, paginatorDocs } from "./paginators/index.js";
export type { Paginator, PaginatorConfig } from "./paginators/paginator.js";
export { type RestApiSourceOptions, restApiSource } from "./rest-api-source.js";
