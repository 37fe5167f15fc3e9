import type { HttpClient } from "../../http/client.js";
import type { HttpRequest, HttpResponse, QueryParams } from "../../http/types.js";
import type { Logger } from "../../util/log.js";
import { fetchPages } from "../rest-api/fetch-pages.js";
import type { Paginator } from "../rest-api/paginators/paginator.js";
import { STRIPE_PAGE_LIMIT } from "./objects.js";

/** A Stripe record: a JSON object with an id. */
export type StripeRecord = Record<string, unknown> & { id?: string };

/** Stripe's list object: `{ object: "list", data, has_more, url }`. */
export interface StripeList {
  object: "list";
  data: StripeRecord[];
  has_more: boolean;
  url?: string;
}

export const isStripeList = (v: unknown): v is StripeList =>
  v !== null &&
  typeof v === "object" &&
  (v as StripeList).object === "list" &&
  Array.isArray((v as StripeList).data);

/**
 * Stripe's list pagination: `limit` per page, then `starting_after=<id of the last record>` while `has_more`.
 *
 * @example
 * fetchPages({ client, request: { method: "GET", url: "v1/customers" }, paginator: new StripeListPaginator(), ... })
 */
export class StripeListPaginator implements Paginator {
  readonly name = "stripe_list";

  init(request: HttpRequest): HttpRequest {
    return { ...request, params: { limit: STRIPE_PAGE_LIMIT, ...request.params } };
  }

  next(response: HttpResponse, records: unknown[]): HttpRequest | undefined {
    const body = response.json() as { has_more?: boolean } | null;
    const last = records[records.length - 1] as StripeRecord | undefined;
    if (body?.has_more !== true || typeof last?.id !== "string") return undefined;
    return { ...response.request, params: { ...response.request.params, starting_after: last.id } };
  }
}

export interface ListContext {
  http: HttpClient;
  signal: AbortSignal;
  log: Logger;
}

/** Every page of records of a list endpoint (`data` of each response), following `starting_after`. */
export function listPages(c: ListContext, url: string, params: QueryParams = {}): AsyncGenerator<unknown[]> {
  return fetchPages({
    client: c.http,
    request: { method: "GET", url, params },
    paginator: new StripeListPaginator(),
    dataSelector: "data",
    signal: c.signal,
    log: c.log,
  });
}

/** `expand[]` values for a list (`data.<field>`) or for one object (`<field>`). */
export function expandParams(fields: readonly string[], list: boolean): QueryParams {
  return fields.length === 0 ? {} : { "expand[]": fields.map((f) => (list ? `data.${f}` : f)) };
}

/**
 * Replaces each embedded list of a record (`{ object: "list", data, has_more, url }`, e.g. a subscription's items)
 * by its records, fetching the pages Stripe left out (`has_more`) from the list's own URL. `skip` names fields
 * taken elsewhere (an invoice's `lines` go to their own table).
 */
export async function unwrapLists(
  c: ListContext,
  record: StripeRecord,
  skip: readonly string[] = [],
): Promise<StripeRecord> {
  for (const [key, value] of Object.entries(record)) {
    if (skip.includes(key) || !isStripeList(value)) continue;
    record[key] = await completeList(c, value);
  }
  return record;
}

/** All records of an embedded list: the ones given, then the pages after the last of them. */
export async function completeList(c: ListContext, list: StripeList): Promise<StripeRecord[]> {
  const out = [...list.data];
  const last = out[out.length - 1];
  if (!list.has_more || !list.url || typeof last?.id !== "string") return out;
  for await (const page of listPages(c, list.url, { starting_after: last.id })) {
    out.push(...(page as StripeRecord[]));
  }
  return out;
}
