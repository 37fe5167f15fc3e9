import type { Resource } from "../../extract/resource.js";
import type { Source } from "../../extract/source.js";
import { ConfigError } from "../../util/errors.js";
import { Carried } from "../common/carried.js";
import { forwardingLogger } from "../common/forwarding-logger.js";
import { selectResources } from "../common/options.js";
import type { ResourceConfig } from "../rest-api/config.js";
import { restApiSource } from "../rest-api/rest-api-source.js";
import { stripeClient } from "./client.js";
import { lineItemsTransformer } from "./line-items.js";
import { type StripeList, StripeListPaginator } from "./lists.js";
import { mutableResource } from "./mutable.js";
import { STRIPE_OBJECTS, STRIPE_RESOURCES, type StripeObject } from "./objects.js";
import { type CheckedStripeOptions, checkStripeOptions, type StripeOptions } from "./options.js";

/** An append-only object (balance transactions, events) as a REST resource: `created[gte]` from its cursor. */
function appendOnly(o: StripeObject, opts: CheckedStripeOptions): ResourceConfig {
  return {
    name: o.name,
    primary_key: "id",
    write_disposition: "append",
    // An event's `data.object` is any kind of object: kept whole rather than spread over columns of every kind.
    ...(o.name === "events" ? { columns: { data: { data_type: "json" as const } } } : {}),
    endpoint: {
      path: o.path,
      data_selector: "data",
      paginator: () => new StripeListPaginator(),
      ...(opts.expand?.[o.name]?.length
        ? { params: { "expand[]": opts.expand[o.name]!.map((f) => `data.${f}`) } }
        : {}),
      incremental: {
        cursor_path: "created",
        start_param: "created[gte]",
        ...(opts.startSeconds !== undefined ? { initial_value: opts.startSeconds } : {}),
        ...(opts.endSeconds !== undefined ? { end_value: opts.endSeconds, end_param: "created[lt]" } : {}),
      },
    },
  };
}

function checkExpand(opts: CheckedStripeOptions): void {
  for (const [name, fields] of Object.entries(opts.expand ?? {})) {
    if (!STRIPE_OBJECTS.some((o) => o.name === name)) {
      throw new ConfigError(
        `stripe: expand names "${name}", which is not a Stripe resource with its own list`,
        {
          hint: `expand one of ${STRIPE_OBJECTS.map((o) => o.name).join(", ")}`,
        },
      );
    }
    if (!Array.isArray(fields) || fields.some((f) => typeof f !== "string" || f.startsWith("data."))) {
      throw new ConfigError(
        `stripe: expand.${name} must be a list of fields of the object ("customer", not "data.customer")`,
      );
    }
  }
}

/**
 * The Stripe source: customers, subscriptions, invoices and their line items, charges, payment intents, refunds,
 * products, prices, balance transactions, disputes, payouts and events. The first run lists every object; later
 * runs merge what changed, read from Stripe's events, and append what was created (balance transactions, events).
 *
 * @example
 * import { stripeSource } from "ferry/sources/stripe";
 * await pipeline({ name: "stripe", destination: "duckdb:stripe.duckdb" }).run(
 *   stripeSource({ api_key: process.env.STRIPE_API_KEY!, resources: ["customers", "invoices", "invoice_line_items"] }),
 * );
 */
export function stripeSource(options: StripeOptions): Source {
  const opts = checkStripeOptions(options);
  checkExpand(opts);
  const selected = selectResources("stripe", opts.resources, STRIPE_RESOURCES);
  const { log, target } = forwardingLogger();
  const http = stripeClient(opts, log);
  const lines = new Carried<StripeList>();
  const built = new Map<string, Resource>();
  const mutable = (o: StripeObject): Resource => {
    const done = built.get(o.name);
    if (done) return done;
    const r = mutableResource(o, {
      http,
      logTarget: target,
      expand: [...(o.expand ?? []), ...(opts.expand?.[o.name] ?? [])],
      startSeconds: opts.startSeconds,
      endSeconds: opts.endSeconds,
      ...(o.name === "invoices" ? { lines } : {}),
    });
    built.set(o.name, r);
    return r;
  };
  const resources: (Resource | ResourceConfig)[] = [];
  for (const name of selected) {
    if (name === "invoice_line_items") {
      const invoices = STRIPE_OBJECTS.find((o) => o.name === "invoices") as StripeObject;
      resources.push(lineItemsTransformer(mutable(invoices), http, lines, target));
      continue;
    }
    const o = STRIPE_OBJECTS.find((x) => x.name === name) as StripeObject;
    resources.push(o.events ? mutable(o) : appendOnly(o, opts));
  }
  return restApiSource(
    { name: opts.name ?? "stripe", client: { base_url: http.baseUrl as string }, resources },
    { http },
  );
}
