import { type Resource, transformer } from "../../extract/resource.js";
import type { HttpClient } from "../../http/client.js";
import type { Logger } from "../../util/log.js";
import type { Carried } from "../common/carried.js";
import { completeList, type ListContext, listPages, type StripeList, type StripeRecord } from "./lists.js";

/**
 * `invoice_line_items`: the lines of each invoice the `invoices` resource yields (its first run: all invoices;
 * later runs: the changed ones). The lines embedded in the invoice are used, and the pages after them fetched
 * from `/v1/invoices/{id}/lines`; merged by id and replaced per invoice (`invoice` is the merge key), so lines
 * removed from a draft invoice disappear.
 */
export function lineItemsTransformer(
  invoices: Resource,
  http: HttpClient,
  lines: Carried<StripeList>,
  logTarget: { current: Logger },
): Resource {
  return transformer(
    {
      name: "invoice_line_items",
      parent: invoices,
      primaryKey: "id",
      mergeKey: "invoice",
      writeDisposition: "merge",
      jsonItems: true,
    },
    async function* (page, ctx) {
      logTarget.current = ctx.log;
      const c: ListContext = { http, signal: ctx.signal, log: ctx.log };
      for (const invoice of (Array.isArray(page) ? page : [page]) as StripeRecord[]) {
        if (invoice.deleted === true || typeof invoice.id !== "string") continue;
        const carried = lines.get(invoice);
        const items: StripeRecord[] = [];
        if (carried) items.push(...(await completeList(c, carried)));
        else {
          for await (const p of listPages(c, `v1/invoices/${encodeURIComponent(invoice.id)}/lines`)) {
            items.push(...(p as StripeRecord[]));
          }
        }
        if (items.length > 0) yield items.map((l) => ({ ...l, invoice: l.invoice ?? invoice.id }));
      }
    },
  );
}
