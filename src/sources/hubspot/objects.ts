/**
 * The HubSpot CRM objects the source loads: their API name, the property that holds their last change (contacts
 * keep `lastmodifieddate`, the others `hs_lastmodifieddate`), the scopes a private app needs to read them, and the
 * associations loaded by default.
 */

export interface CrmObject {
  /** Resource and table name, and the object type in the API's paths. */
  name: string;
  /** The property the search API filters and sorts on for incremental runs. */
  lastModified: string;
  /** Scopes of a private app that reads this object (its records and its properties). */
  scopes: string[];
  /** Object types whose associations are loaded into `<name>__associations` by default. */
  associations: string[];
}

export const CRM_OBJECTS: readonly CrmObject[] = [
  {
    name: "contacts",
    lastModified: "lastmodifieddate",
    scopes: ["crm.objects.contacts.read", "crm.schemas.contacts.read"],
    associations: ["companies", "deals", "tickets"],
  },
  {
    name: "companies",
    lastModified: "hs_lastmodifieddate",
    scopes: ["crm.objects.companies.read", "crm.schemas.companies.read"],
    associations: ["contacts", "deals", "tickets"],
  },
  {
    name: "deals",
    lastModified: "hs_lastmodifieddate",
    scopes: ["crm.objects.deals.read", "crm.schemas.deals.read"],
    associations: ["contacts", "companies", "line_items"],
  },
  {
    name: "tickets",
    lastModified: "hs_lastmodifieddate",
    scopes: ["tickets"],
    associations: ["contacts", "companies", "deals"],
  },
  { name: "products", lastModified: "hs_lastmodifieddate", scopes: ["e-commerce"], associations: [] },
  {
    name: "line_items",
    lastModified: "hs_lastmodifieddate",
    scopes: ["crm.objects.line_items.read", "e-commerce"],
    associations: ["deals", "quotes"],
  },
  {
    name: "quotes",
    lastModified: "hs_lastmodifieddate",
    scopes: ["crm.objects.quotes.read"],
    associations: ["deals", "line_items", "contacts", "companies"],
  },
];

/** Objects with pipelines (and their stages), loaded into `pipelines`. */
export const PIPELINE_OBJECTS = ["deals", "tickets"] as const;

/** Resource names of the HubSpot source. */
export const HUBSPOT_RESOURCES: readonly string[] = [
  ...CRM_OBJECTS.map((o) => o.name),
  "owners",
  "pipelines",
];

/** The search API returns at most this many results per query (paging past it is a 400). */
export const SEARCH_RESULT_LIMIT = 10_000;
/** Largest page of the search API, and of the list and batch read endpoints. */
export const SEARCH_PAGE = 200;
export const LIST_PAGE = 100;
/** Comma-joined property names longer than this go through batch read (a POST) instead of the list URL. */
export const MAX_PROPERTIES_IN_URL = 2000;
