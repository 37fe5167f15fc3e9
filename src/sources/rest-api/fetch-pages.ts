import type { Auth } from "../../http/auth.js";
import type { HttpClient } from "../../http/client.js";
import type { HttpRequest, HttpResponse } from "../../http/types.js";
import type { Logger } from "../../util/log.js";
import type { ResponseAction } from "./config.js";
import { findValues, isMultiPath } from "./jsonpath.js";
import type { Paginator } from "./paginators/paginator.js";

export interface FetchPagesOptions {
  client: HttpClient;
  request: HttpRequest;
  paginator: Paginator;
  dataSelector?: string;
  responseActions?: ResponseAction[];
  /** Auth for these requests instead of the client's (null: none). */
  auth?: Auth | null;
  signal: AbortSignal;
  log: Logger;
}

const LIST_KEYS = [
  "data",
  "results",
  "items",
  "records",
  "entries",
  "values",
  "objects",
  "list",
  "rows",
  "hits",
  "nodes",
  "elements",
];

/**
 * The records of a response: at `data_selector` if given; else the body if it is a list, a list under a usual
 * key (`data`, `results`, `items`...) or the only list of objects in it; else the body itself (a single object).
 */
export function selectRecords(body: unknown, dataSelector?: string): unknown[] {
  if (dataSelector) {
    // As dlt: every match of the selector; one match that is a list is the list of records.
    const found = findValues(body, dataSelector);
    const v = found.length === 1 && !isMultiPath(dataSelector) ? found[0] : found;
    if (v === undefined || v === null) return [];
    return Array.isArray(v) ? v : [v];
  }
  if (Array.isArray(body)) return body;
  if (body === null || typeof body !== "object") return body === null ? [] : [body];
  const o = body as Record<string, unknown>;
  for (const k of LIST_KEYS) if (Array.isArray(o[k])) return o[k] as unknown[];
  // A wrapper with one list of objects (and counts or links beside it) holds the records; an object with an id is
  // a record itself, whose lists become child tables.
  if (!("id" in o)) {
    const lists = Object.values(o).filter(
      (v) => Array.isArray(v) && v.length > 0 && typeof v[0] === "object",
    );
    if (lists.length === 1) return lists[0] as unknown[];
  }
  return [body];
}

function matches(action: ResponseAction, status: number, text: string): boolean {
  if (action.status_code !== undefined) {
    const codes = Array.isArray(action.status_code) ? action.status_code : [action.status_code];
    if (!codes.includes(status)) return false;
  }
  if (action.content !== undefined && !text.includes(action.content)) return false;
  return action.status_code !== undefined || action.content !== undefined;
}

function signature(r: HttpRequest): string {
  return JSON.stringify([r.method, r.url, r.params ?? {}, r.json ?? null, r.body ?? null]);
}

/**
 * Fetches every page of one request chain and yields each page's records. Stops at the paginator's end, on an
 * "ignore" response action, and when the API repeats itself (same next request or same body twice in a row), so
 * a broken API can never loop forever or load a page twice.
 */
export async function* fetchPages(o: FetchPagesOptions): AsyncGenerator<unknown[]> {
  const seen = new Set<string>();
  let previousBody: string | undefined;
  const actions = o.responseActions ?? [];

  /** One page: its records and the request for the next one (undefined at the end). */
  type Page = { records: unknown[]; next?: HttpRequest };
  const fetchPage = async (request: HttpRequest): Promise<Page> => {
    const sig = signature(request);
    if (seen.has(sig)) {
      o.log.warn(
        `paginator ${o.paginator.name} asked for ${request.url} again; stopping to avoid an endless loop`,
      );
      return { records: [] };
    }
    seen.add(sig);
    const res: HttpResponse = await o.client.request(request, {
      signal: o.signal,
      log: o.log,
      accept: (status, text) => actions.some((a) => matches(a, status, text)),
      ...(o.auth !== undefined ? { auth: o.auth } : {}),
    });
    const action = actions.find((a) => matches(a, res.status, res.text));
    if (action?.action === "ignore") {
      o.log.info(`ignoring response ${res.status} of ${res.url} (response action)`);
      return { records: [] };
    }
    if (previousBody !== undefined && res.text === previousBody && res.text.length > 2) {
      o.log.warn(`the API returned the same page twice (${res.url}); stopping to avoid loading it again`);
      return { records: [] };
    }
    previousBody = res.text;
    const records = selectRecords(res.json(), o.dataSelector);
    const next = o.paginator.next(res, records);
    return next ? { records, next } : { records };
  };

  let pending: Promise<Page> | undefined = fetchPage(o.paginator.init(o.request));
  try {
    while (pending) {
      const page: Page = await pending;
      // Read ahead: the next page is on its way while this one is written and its children are fetched.
      pending = page.next ? fetchPage(page.next) : undefined;
      // Observed now: it may fail while the consumer is busy with this page (else an unhandled rejection).
      pending?.catch(() => undefined);
      if (page.records.length > 0) yield page.records;
    }
  } finally {
    // A consumer that stops early (limit) must not leave a rejected read-ahead unobserved.
    pending?.catch(() => undefined);
  }
}
