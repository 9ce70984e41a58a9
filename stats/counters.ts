/**
 * @module Operator counters kept with the writes they count: messages per hour
 * and room type, rooms created, users active per day (each once), push
 * outcomes. Each is a `sum` in the commit that makes the change, so counting
 * costs no round trip of its own and commits of many processes add up exactly.
 */
import { sumMutation } from "../storage/counters.ts";
import { keys } from "../storage/keys.ts";
import { estimateBytes } from "../storage/kv_size.ts";
import type { RoomType } from "../storage/records.ts";

/** One hour in milliseconds: the width of the message and push buckets. */
export const HOUR_MS = 3_600_000;
/** One day in milliseconds: the width of the active-user buckets (UTC days). */
export const DAY_MS = 24 * HOUR_MS;

/** Room types as the counters label them. */
export const ROOM_TYPES: readonly RoomType[] = ["DIRECT", "GROUP"];

/** What a push to one recipient came to: sent, answered without a notification, or an attempt that failed. */
export type PushCount = "delivered" | "notDelivered" | "failed";
/** The push outcomes counted. */
export const PUSH_COUNTS: readonly PushCount[] = ["delivered", "notDelivered", "failed"];

/** The hour bucket (hours since the epoch) of a time. */
export function hourOf(ms: number): number {
  return Math.floor(ms / HOUR_MS);
}

/** The UTC day (days since the epoch) of a time. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** Checks and mutations to add to a commit, and their estimated size. */
export interface CounterWrite {
  checks: Deno.AtomicCheck[];
  mutations: Deno.KvMutation[];
  bytes: number;
}

/** What a counter `sum` weighs in a commit. */
const SUM_BYTES = estimateBytes(keys.statsTotal("messages", "DIRECT")) + 16;

/**
 * The counters of one room commit's events: each `message.created` adds one to
 * its hour's bucket and the all-time total of the room's type, each
 * `room.created` one to the rooms of that type.
 *
 * @example
 * ```ts
 * unit.mutations.push(...roomEventCounters("GROUP", events, Date.now()));
 * ```
 */
export function roomEventCounters(
  roomType: RoomType,
  events: readonly { type: string }[],
  now: number,
): Deno.KvMutation[] {
  const messages = events.filter((e) => e.type === "message.created").length;
  const rooms = events.filter((e) => e.type === "room.created").length;
  const out: Deno.KvMutation[] = [];
  if (messages > 0) {
    out.push(
      sumMutation(keys.statsMessages(hourOf(now), roomType), messages),
      sumMutation(keys.statsTotal("messages", roomType), messages),
    );
  }
  if (rooms > 0) out.push(sumMutation(keys.statsTotal("rooms", roomType), rooms));
  return out;
}

/** The size in a commit of `roomEventCounters`' mutations. */
export function counterBytes(mutations: readonly Deno.KvMutation[]): number {
  return mutations.length * SUM_BYTES;
}

/**
 * Counts a user active on `day`, once: `entry` is their `statsUserDay` row as
 * read. When it already says `day` (or later) nothing is written; otherwise
 * the commit checks the row as read, moves it to `day`, adds one to the day's
 * active users, and moves the user from the bucket of their previous last
 * active day to today's. Of two commits counting the same user, the second
 * fails its check and, re-read, counts nothing.
 */
export function activityWrite(
  userId: string,
  entry: Deno.KvEntryMaybe<unknown>,
  day: number,
): CounterWrite | null {
  const previous = lastActiveDay(entry);
  if (previous !== null && previous >= day) return null;
  const key = keys.statsUserDay(userId);
  const mutations: Deno.KvMutation[] = [
    { type: "set", key, value: day },
    sumMutation(keys.statsActive(day), 1),
    sumMutation(keys.statsLastActive(day), 1),
  ];
  if (previous !== null) mutations.push(sumMutation(keys.statsLastActive(previous), -1));
  return {
    checks: [{ key, versionstamp: entry.versionstamp }],
    mutations,
    bytes: estimateBytes(key, day) * 2 + mutations.length * SUM_BYTES,
  };
}

/** The day a `statsUserDay` row says the user was last active, or null. */
export function lastActiveDay(entry: Deno.KvEntryMaybe<unknown>): number | null {
  return typeof entry.value === "number" ? entry.value : null;
}

/** The sums that count `n` push outcomes of one kind at `now`: its hour's bucket and the all-time total. */
export function pushCounters(outcome: PushCount, now: number, n = 1): Deno.KvMutation[] {
  return [
    sumMutation(keys.statsPush(hourOf(now), outcome), n),
    sumMutation(keys.statsTotal("push", outcome), n),
  ];
}

/**
 * Which users this process already saw counted today: their rows need not be
 * read again. Knowing it is safe to cache, since a committed day never moves
 * back; forgetting it only costs a read. Bounded: cleared when the day turns
 * or it grows past `max` users.
 */
export class ActiveToday {
  readonly #max: number;
  #day = -1;
  #seen = new Set<string>();

  constructor(max = 100_000) {
    this.#max = max;
  }

  /** Of `userIds`, those not known to be counted on `day`, each once. */
  unknown(userIds: Iterable<string>, day: number): string[] {
    if (day !== this.#day) return [...new Set(userIds)];
    return [...new Set(userIds)].filter((id) => !this.#seen.has(id));
  }

  /** Remembers that the users are counted on `day` (their commit went through). */
  remember(userIds: Iterable<string>, day: number): void {
    if (day < this.#day) return;
    if (day > this.#day || this.#seen.size >= this.#max) {
      this.#day = day;
      this.#seen = new Set();
    }
    for (const id of userIds) this.#seen.add(id);
  }
}
