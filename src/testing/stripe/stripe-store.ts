/**
 * The objects of a fake Stripe account and Stripe's list semantics over them: newest first, `limit` (1-100),
 * `starting_after` / `ending_before` by id, `created` filters (`created[gte]=...` or an exact `created=`).
 */

export type StripeObj = Record<string, unknown> & { id: string; object: string; created: number };

export interface ListQuery {
  limit?: string | null;
  starting_after?: string | null;
  ending_before?: string | null;
  created: Partial<Record<"gt" | "gte" | "lt" | "lte" | "eq", number>>;
}

/** A Stripe API error: status, `type`, `code`, message, the param it names. */
export class StripeFakeError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = "invalid_request_error",
    readonly code?: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

/** Reads `created[gte]=1` style filters (and `created=1`) from a query string. */
export function createdFilter(q: URLSearchParams): ListQuery["created"] {
  const out: ListQuery["created"] = {};
  for (const [k, v] of q) {
    const m = /^created(?:\[(gt|gte|lt|lte)\])?$/.exec(k);
    if (!m) continue;
    const n = Number(v);
    if (!Number.isInteger(n))
      throw new StripeFakeError(400, `Invalid integer: ${v}`, undefined, "parameter_invalid_integer", k);
    out[(m[1] ?? "eq") as keyof ListQuery["created"]] = n;
  }
  return out;
}

function matchesCreated(o: StripeObj, c: ListQuery["created"]): boolean {
  return (
    (c.gt === undefined || o.created > c.gt) &&
    (c.gte === undefined || o.created >= c.gte) &&
    (c.lt === undefined || o.created < c.lt) &&
    (c.lte === undefined || o.created <= c.lte) &&
    (c.eq === undefined || o.created === c.eq)
  );
}

/** One page of a list, as Stripe answers it (`{ object: "list", data, has_more, url }`). */
export function listPage(
  all: StripeObj[],
  q: ListQuery,
  url: string,
  render: (o: StripeObj) => unknown = (o) => o,
  /** `newest`: newest first (top-level lists); `given`: in the order held (an invoice's lines, a subscription's items). */
  order: "newest" | "given" = "newest",
): { object: "list"; data: unknown[]; has_more: boolean; url: string } {
  const limit = q.limit === undefined || q.limit === null ? 10 : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    throw new StripeFakeError(
      400,
      "Invalid integer: limit must be between 1 and 100",
      undefined,
      "parameter_invalid_integer",
      "limit",
    );
  }
  // Newest first; objects of one second in reverse order of creation, as Stripe lists them.
  const sorted = all
    .map((o, i) => ({ o, i }))
    .filter(({ o }) => matchesCreated(o, q.created))
    .sort((a, b) => (order === "given" ? a.i - b.i : b.o.created - a.o.created || b.i - a.i))
    .map(({ o }) => o);
  let from = 0;
  let to = sorted.length;
  if (q.starting_after) {
    const i = sorted.findIndex((o) => o.id === q.starting_after);
    if (i < 0 && !all.some((o) => o.id === q.starting_after)) {
      throw new StripeFakeError(
        400,
        `No such object: '${q.starting_after}'`,
        undefined,
        "resource_missing",
        "starting_after",
      );
    }
    from = i + 1;
  }
  if (q.ending_before) {
    const i = sorted.findIndex((o) => o.id === q.ending_before);
    to = Math.max(i, 0);
    from = Math.max(from, to - limit);
  }
  const data = sorted.slice(from, Math.min(to, from + limit));
  return { object: "list", data: data.map(render), has_more: from + data.length < to, url };
}
