/**
 * Data a resource hands its transformers alongside a record, without putting it in the record's table: the lines
 * of an invoice, the side-loaded metrics of a ticket. Keyed by the record object itself, so nothing is kept once
 * the record is gone; a transformer that finds nothing (a `map` step replaced the record) fetches the data itself.
 *
 * @example
 * const lines = new Carried<StripeList>();
 * lines.set(invoice, invoice.lines); delete invoice.lines; // in the parent
 * const list = lines.get(invoice) ?? (await fetchLines(invoice.id)); // in the transformer
 */
export class Carried<T> {
  readonly #map = new WeakMap<object, T>();

  set(record: object, value: T): void {
    this.#map.set(record, value);
  }

  get(record: unknown): T | undefined {
    return record !== null && typeof record === "object" ? this.#map.get(record) : undefined;
  }
}
