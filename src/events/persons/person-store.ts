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

/** What a page of events changed (every list may be empty). Part of the batch in progress until it commits. */
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

/** What `lookup` finds for a page's distinct ids, with the changes of the batch in progress. */
export interface PersonLookup {
  distinctIds: Map<string, DistinctIdRow>;
  /** The persons those distinct ids belong to, by person id. */
  persons: Map<string, Person>;
  /** Which of the ids asked for were used personless. */
  personless: Set<string>;
}

/** A person a batch changed, as it is loaded into the destination's person tables (`deleted`: merged away). */
export type PendingPerson = Person & { deleted: boolean };

/** What `recover` did to bring the store in line with the destination. */
export type RecoverOutcome = "clean" | "applied" | "discarded";

/**
 * Where one project's persons, distinct ids and groups live between batches (PostHog keeps them in Postgres).
 * Memory stays bounded: readers ask for the page of ids they need; nothing is held for all persons.
 *
 * A batch is processed page by page: a page reads what it needs (`lookup`, then `distinctIdsOf` and `groups` as it
 * goes) and ends with `stage`, also when it changed nothing; the persons it stages are ones its reads returned, or
 * new ones. Reads see the changes of the batch's earlier pages. `prepare` makes the batch ending at `until` durable
 * (and undoable), the destination commits the batch's events and person tables (`pending`), then `commit` makes the
 * batch part of the applied state. After a crash, `recover(committed)` applies a prepared batch the destination
 * holds, or undoes one it does not: the store is never ahead of the destination and never behind it.
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
  /** Adds a page's changes to the batch in progress; ends the page. */
  stage(changes: PersonChanges): Promise<void>;
  /** The changes staged are those of the batch ending at `until`: durable before the destination commits. */
  prepare(until: LogPositions): Promise<void>;
  /** The rows the prepared batch changed, of one destination table, a page at a time (read after `prepare`). */
  pending(table: "persons"): AsyncIterable<PendingPerson[]>;
  pending(table: "person_distinct_ids"): AsyncIterable<DistinctIdRow[]>;
  pending(table: "groups"): AsyncIterable<Group[]>;
  /** The destination committed the batch ending at `until`: its changes are applied and `until` recorded. */
  commit(until: LogPositions): Promise<void>;
  /** Positions applied, the batch prepared but not applied (if any), and whether changes are staged unprepared. */
  status(): Promise<{ positions: LogPositions; prepared: LogPositions | null; staged: boolean }>;
  /**
   * At start and after a failed load: the destination holds events up to `committed`. A batch prepared for exactly
   * those positions is applied; any other change not applied is undone.
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
