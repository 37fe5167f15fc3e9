/**
 * The data of a fake HubSpot portal: property definitions, CRM objects (values held as strings, as HubSpot does),
 * associations in both directions, owners, pipelines; and the search API's filtering and sorting over them.
 */

export interface FakeProperty {
  name: string;
  /** `string`, `number`, `bool`, `date`, `datetime`, `enumeration`, `phone_number`. */
  type: string;
  fieldType?: string;
  label?: string;
  groupName?: string;
}

export interface FakeObject {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

export interface FakeAssociation {
  toObjectId: number;
  associationTypes: { category: string; typeId: number; label: string | null }[];
}

const prop = (name: string, type: string, fieldType = "text"): FakeProperty => ({
  name,
  type,
  fieldType,
  label: name,
  groupName: "info",
});

/** The property HubSpot keeps an object's last change in. */
export const lastModifiedOf = (type: string) =>
  type === "contacts" ? "lastmodifieddate" : "hs_lastmodifieddate";

/** Default properties per object type (a fresh portal's, abridged), and the ones list answers give by default. */
export function defaultProperties(type: string): FakeProperty[] {
  const base = [
    prop("hs_object_id", "number", "number"),
    prop("createdate", "datetime", "date"),
    prop(lastModifiedOf(type), "datetime", "date"),
  ];
  const own: Record<string, FakeProperty[]> = {
    contacts: [
      prop("email", "string"),
      prop("firstname", "string"),
      prop("lastname", "string"),
      prop("lifecyclestage", "enumeration", "radio"),
    ],
    companies: [
      prop("name", "string"),
      prop("domain", "string"),
      prop("numberofemployees", "number", "number"),
      prop("is_public", "bool", "booleancheckbox"),
    ],
    deals: [
      prop("dealname", "string"),
      prop("amount", "number", "number"),
      prop("dealstage", "enumeration", "select"),
      prop("pipeline", "enumeration", "select"),
      prop("closedate", "datetime", "date"),
    ],
    tickets: [
      prop("subject", "string"),
      prop("content", "string", "textarea"),
      prop("hs_pipeline", "enumeration", "select"),
      prop("hs_pipeline_stage", "enumeration", "select"),
    ],
    products: [prop("name", "string"), prop("price", "number", "number"), prop("hs_sku", "string")],
    line_items: [
      prop("name", "string"),
      prop("quantity", "number", "number"),
      prop("price", "number", "number"),
      prop("hs_product_id", "number", "number"),
    ],
    quotes: [
      prop("hs_title", "string"),
      prop("hs_status", "enumeration", "select"),
      prop("hs_expiration_date", "date", "date"),
    ],
  };
  return [...base, ...(own[type] ?? [])];
}

/** Properties list answers carry when none are asked for. */
export function listDefaults(type: string): string[] {
  const extra: Record<string, string[]> = {
    contacts: ["email", "firstname", "lastname"],
    companies: ["name", "domain"],
    deals: ["dealname", "amount", "dealstage", "pipeline", "closedate"],
    tickets: ["subject", "content", "hs_pipeline", "hs_pipeline_stage"],
    products: ["name", "price"],
    line_items: ["name", "quantity", "price"],
    quotes: ["hs_title"],
  };
  return ["hs_object_id", "createdate", lastModifiedOf(type), ...(extra[type] ?? [])];
}

export interface SearchFilter {
  propertyName: string;
  operator: string;
  value?: string;
}

/** A property's value in a form that compares: dates as epoch ms, numbers as numbers, else the text. */
function comparable(
  def: FakeProperty | undefined,
  v: string | null | undefined,
): number | string | undefined {
  if (v === null || v === undefined || v === "") return undefined;
  if (def?.type === "datetime" || def?.type === "date") {
    const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    return Number.isNaN(t) ? v : t;
  }
  if (def?.type === "number") return Number(v);
  return v;
}

export class SearchError extends Error {}

/** Whether an object passes one filter of the search API. */
export function matches(o: FakeObject, f: SearchFilter, defs: Map<string, FakeProperty>): boolean {
  const def = defs.get(f.propertyName);
  if (!def) throw new SearchError(`Property ${f.propertyName} does not exist`);
  const have = comparable(def, o.properties[f.propertyName]);
  if (f.operator === "HAS_PROPERTY") return have !== undefined;
  if (f.operator === "NOT_HAS_PROPERTY") return have === undefined;
  const want = comparable(def, f.value);
  if (want === undefined) throw new SearchError(`filter on ${f.propertyName} needs a value`);
  if (have === undefined) return f.operator === "NEQ";
  switch (f.operator) {
    case "EQ":
      return have === want;
    case "NEQ":
      return have !== want;
    case "GT":
      return have > want;
    case "GTE":
      return have >= want;
    case "LT":
      return have < want;
    case "LTE":
      return have <= want;
    default:
      throw new SearchError(`operator ${f.operator} is not supported`);
  }
}

/** Sorts objects by one property (ties by id), as the search API's `sorts`. */
export function sortBy(
  objects: FakeObject[],
  sort: { propertyName: string; direction?: string } | undefined,
  defs: Map<string, FakeProperty>,
): FakeObject[] {
  const byId = (a: FakeObject, b: FakeObject) => Number(a.id) - Number(b.id);
  if (!sort) return [...objects].sort(byId);
  const def = defs.get(sort.propertyName);
  if (!def) throw new SearchError(`Property ${sort.propertyName} does not exist`);
  const dir = sort.direction === "DESCENDING" ? -1 : 1;
  return [...objects].sort((a, b) => {
    const x = comparable(def, a.properties[sort.propertyName]);
    const y = comparable(def, b.properties[sort.propertyName]);
    if (x === y) return byId(a, b);
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    return (x < y ? -1 : 1) * dir;
  });
}
