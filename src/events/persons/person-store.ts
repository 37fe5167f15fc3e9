import type { LogPositions } from "../log/event-log.js";

/** A person as the store keeps it (PostHog's `posthog_person`). */
export interface Person {
  /** Deterministic: `personUuid(token, first distinct_id)`. */
  id: string;
  properties: Record<string, unknown>;
  isIdentified: boolean;
  /** UTC ISO 8601: the timestamp of the event that created the person (the earlier one after a merge). */
  createdAt: string;
  /** 0 when created, +1 on every change; a merge gives max(both) + 1. */
  version: number;
}

/** Which person a distinct_id belongs to (PostHog's `posthog_persondistinctid`). */
export interface DistinctIdRow {
  distinctId: string;
  personId: string;
  /** 0 when added; +1 each time the id moves to another person (a merge). */
  version: number;
}

/** A group from `$groupidentify` (PostHog's `posthog_group`). */
export interface Group {
  groupType: string;
  groupKey: string;
  properties: Record<string, unknown>;
  createdAt: string;
  /** 1 when created, +1 on every change. */
  version: number;
}

/** What a page of events changed. Staged in the store's pending area, applied only when the batch commits. */
export interface PersonChanges {
  /** New full state of each changed or created person. */
  persons: Person[];
  /** Persons merged into another one: gone once the batch commits. */
  deletedPersons: Array<{ id: string; version: number }>;
  distinctIds: DistinctIdRow[];
  /** Distinct ids first seen on events with `$process_person_profile: false` (they decide merge versions). */
  personless: string[];
  groups: Group[];
  /** Group types seen for the first time, with the index they got (0..4). */
  groupTypes: Array<{ groupType: string; index: number }>;
}

/** What `lookup` finds for a page's distinct ids: the applied state overlaid with the batch's pending changes. */
export interface PersonLookup {
  distinctIds: Map<string, DistinctIdRow>;
  /** The persons those distinct ids belong to, by person id. */
  persons: Map<string, Person>;
  /** Which of the ids asked for were used personless. */
  personless: Set<string>;
}

/** A row of the pending area, as it is loaded into the destination's person tables. */
export type PendingPerson = Person & { deleted: boolean };

/** What `recover` did to bring the store in line with the destination. */
export type RecoverOutcome = "clean" | "applied" | "discarded";

/**
 * Where one project's persons, distinct ids and groups live between batches (PostHog keeps them in Postgres).
 * Memory stays bounded: readers ask for the page of ids they need; nothing is held for all persons.
 *
 * Two areas: the applied state, and the pending changes of the batch in progress (reads see both). A batch stages
 * its changes page by page, `prepare` marks them complete (durably) for the batch ending at `until`, the destination
 * commits the batch's events and person tables, then `commit` applies them in one transaction. After a crash,
 * `recover(committed)` applies a prepared batch the destination holds, or discards one it does not: the store is
 * never ahead of the destination and never behind it.
 *
 * Implementations: `SqlitePersonStore` (embedded, the default), `PostgresPersonStore` (shared by several servers).
 *
 * @example
 * const found = await store.lookup(["anon-1", "user-1"]);
 * await store.stage({ persons: [p], deletedPersons: [], distinctIds: [d], personless: [], groups: [], groupTypes: [] });
 * await store.prepare({ 0: 1200 });   // before the destination commits
 * await store.commit({ 0: 1200 });    // after it did
 */
export interface PersonStore {
  /** Where the store lives, for messages (`sqlite:/path/file.sqlite`, `postgres://host/db`, no password). */
  readonly description: string;
  lookup(distinctIds: readonly string[], personless: readonly string[]): Promise<PersonLookup>;
  /** Every distinct id of a person (a merge moves them all). */
  distinctIdsOf(personId: string): Promise<DistinctIdRow[]>;
  /** Groups by `groupKeyOf(type, key)`, and every group type the project has, with its index. */
  groups(keys: ReadonlyArray<{ groupType: string; groupKey: string }>): Promise<{
    groups: Map<string, Group>;
    types: Map<string, number>;
  }>;
  /** Adds a page's changes to the pending area. */
  stage(changes: PersonChanges): Promise<void>;
  /** The pending changes are those of the batch ending at `until`: durable before the destination commits. */
  prepare(until: LogPositions): Promise<void>;
  /** The pending rows of one destination table, a page at a time (read after `prepare`). */
  pending(table: "persons"): AsyncIterable<PendingPerson[]>;
  pending(table: "person_distinct_ids"): AsyncIterable<DistinctIdRow[]>;
  pending(table: "groups"): AsyncIterable<Group[]>;
  /** The destination committed the batch ending at `until`: applies the pending changes and records `until`. */
  commit(until: LogPositions): Promise<void>;
  /** Positions applied, and the batch prepared but not applied (if any). */
  status(): Promise<{ positions: LogPositions; prepared: LogPositions | null; staged: boolean }>;
  /**
   * At start and after a failed load: the destination holds events up to `committed`. A batch prepared for exactly
   * those positions is applied; any other pending change is discarded.
   */
  recover(committed: LogPositions): Promise<RecoverOutcome>;
  close(): Promise<void>;
}

/** The key of a group in maps: type and key, which may hold any characters, joined unambiguously. */
export function groupKeyOf(groupType: string, groupKey: string): string {
  return JSON.stringify([groupType, groupKey]);
}

/** Whether two sets of log positions are the same, partition by partition (absent means 0). */
export function samePositions(a: LogPositions, b: LogPositions): boolean {
  const parts = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const p of parts) if ((a[Number(p)] ?? 0) !== (b[Number(p)] ?? 0)) return false;
  return true;
}

/** Partitions in which `a` is beyond `b`. */
export function aheadOf(a: LogPositions, b: LogPositions): number[] {
  return Object.keys(a)
    .map(Number)
    .filter((p) => (a[p] ?? 0) > (b[p] ?? 0));
}
