import {
  defaultProperties,
  type FakeAssociation,
  type FakeObject,
  type FakeProperty,
  lastModifiedOf,
} from "./hubspot-data.js";

export const HUBSPOT_OBJECT_TYPES = [
  "contacts",
  "companies",
  "deals",
  "tickets",
  "products",
  "line_items",
  "quotes",
] as const;
export type HubSpotObjectType = (typeof HUBSPOT_OBJECT_TYPES)[number];

type Json = Record<string, unknown>;

/**
 * The data of a fake HubSpot portal and the changes a test makes to it, at the portal's clock: objects (their values
 * held as strings, as HubSpot holds them), associations both ways, owners, pipelines, property definitions.
 */
export class HubSpotPortal {
  now: number;
  readonly #props = new Map<string, FakeProperty[]>();
  readonly #objects = new Map<string, FakeObject[]>();
  readonly #assoc = new Map<string, Map<number, FakeAssociation>>();
  readonly #owners: Json[] = [];
  readonly #pipelines = new Map<string, Json[]>();
  #nextId = 1000;

  protected constructor(now: number) {
    this.now = now;
    for (const t of HUBSPOT_OBJECT_TYPES) this.#props.set(t, defaultProperties(t));
  }

  /** Moves the clock on (milliseconds). */
  tick(ms: number): void {
    this.now += ms;
  }

  /** Adds a (custom) property to an object type. */
  defineProperty(type: HubSpotObjectType, p: FakeProperty): void {
    this.#props.get(type)?.push({ fieldType: "text", label: p.name, groupName: "custom", ...p });
  }

  /** Creates an object now; values are kept as HubSpot keeps them, as strings. */
  create(type: HubSpotObjectType, properties: Record<string, unknown> = {}): FakeObject {
    const id = String(++this.#nextId);
    const at = new Date(this.now).toISOString();
    const o: FakeObject = { id, properties: {}, createdAt: at, updatedAt: at, archived: false };
    this.#set(type, o, { ...properties, hs_object_id: id, createdate: at });
    this.#list(type).push(o);
    return o;
  }

  /** Changes properties now (the last-modified time moves). */
  update(type: HubSpotObjectType, id: string, properties: Record<string, unknown>): FakeObject {
    const o = this.get(type, id);
    this.#set(type, o, properties);
    return o;
  }

  /** Archives an object now (it leaves lists and search, and shows with `archived=true`). */
  archive(type: HubSpotObjectType, id: string): FakeObject {
    const o = this.get(type, id);
    o.archived = true;
    o.archivedAt = new Date(this.now).toISOString();
    this.#set(type, o, {});
    return o;
  }

  /** Associates two objects both ways (type ids as HubSpot's defaults: 1 for primary, else 279/280...). */
  associate(
    fromType: HubSpotObjectType,
    fromId: string,
    toType: HubSpotObjectType,
    toId: string,
    label: string | null = null,
  ): void {
    const typeId = label === "Primary" ? 1 : 279;
    this.#link(fromType, fromId, toType, Number(toId), {
      category: label && label !== "Primary" ? "USER_DEFINED" : "HUBSPOT_DEFINED",
      typeId,
      label,
    });
    this.#link(toType, toId, fromType, Number(fromId), {
      category: "HUBSPOT_DEFINED",
      typeId: typeId + 1,
      label: null,
    });
  }

  /** Adds an owner (a user records can be assigned to). */
  addOwner(fields: { email: string; firstName?: string; lastName?: string }): Json {
    const at = new Date(this.now).toISOString();
    const owner: Json = {
      id: String(++this.#nextId),
      type: "PERSON",
      userId: this.#nextId + 5000,
      teams: [],
      ...fields,
      createdAt: at,
      updatedAt: at,
      archived: false,
    };
    this.#owners.push(owner);
    return owner;
  }

  /** Changes an owner (archived: true archives it). */
  updateOwner(id: string, fields: Json): void {
    const owner = this.#owners.find((o) => o.id === id);
    if (!owner) throw new Error(`fake hubspot has no owner ${id}`);
    Object.assign(owner, fields, { updatedAt: new Date(this.now).toISOString() });
  }

  /** Adds a pipeline of deals or tickets with its stages. */
  addPipeline(objectType: "deals" | "tickets", label: string, stages: string[]): Json {
    const at = new Date(this.now).toISOString();
    const list = this.#pipelines.get(objectType) ?? [];
    const p: Json = {
      id: String(++this.#nextId),
      label,
      displayOrder: list.length,
      archived: false,
      createdAt: at,
      updatedAt: at,
      stages: stages.map((s, i) => ({
        id: String(++this.#nextId),
        label: s,
        displayOrder: i,
        archived: false,
        metadata:
          objectType === "deals"
            ? { isClosed: String(i === stages.length - 1), probability: "0.5" }
            : { ticketState: "OPEN" },
        createdAt: at,
        updatedAt: at,
      })),
    };
    list.push(p);
    this.#pipelines.set(objectType, list);
    return p;
  }

  get(type: HubSpotObjectType, id: string): FakeObject {
    const o = this.#list(type).find((x) => x.id === id);
    if (!o) throw new Error(`fake hubspot has no ${type} ${id}`);
    return o;
  }

  /** An object type's property definitions (what the properties API lists). */
  definitions(type: string): FakeProperty[] {
    return this.#props.get(type) ?? [];
  }

  /** Every object of a type, archived ones included. */
  objectsOf(type: string): FakeObject[] {
    return this.#list(type);
  }

  /** The associations of one object to one other type, by the other object's id. */
  associationsOf(from: string, id: string, to: string): FakeAssociation[] {
    return [...(this.#assoc.get(`${from}/${id}/${to}`)?.values() ?? [])].sort(
      (a, b) => a.toObjectId - b.toObjectId,
    );
  }

  get owners(): readonly Json[] {
    return this.#owners;
  }

  pipelinesOf(type: string): Json[] {
    return this.#pipelines.get(type) ?? [];
  }

  #list(type: string): FakeObject[] {
    const l = this.#objects.get(type) ?? [];
    this.#objects.set(type, l);
    return l;
  }

  #set(type: string, o: FakeObject, properties: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(properties))
      o.properties[k] = v === null || v === undefined ? null : String(v);
    o.updatedAt = new Date(this.now).toISOString();
    o.properties[lastModifiedOf(type)] = o.updatedAt;
  }

  #link(
    fromType: string,
    fromId: string,
    toType: string,
    toId: number,
    t: FakeAssociation["associationTypes"][number],
  ): void {
    const key = `${fromType}/${fromId}/${toType}`;
    const m = this.#assoc.get(key) ?? new Map<number, FakeAssociation>();
    const a = m.get(toId) ?? { toObjectId: toId, associationTypes: [] };
    a.associationTypes.push(t);
    m.set(toId, a);
    this.#assoc.set(key, m);
  }
}
