/**
 * @module Users' notification preferences: read at push delivery, written by
 * `PUT /api/me/preferences`. A user without a record has the defaults.
 */
import { MAX_MUTED_ROOMS } from "../limits.ts";
import { keys } from "./keys.ts";
import { getManyChunked } from "./kv.ts";
import type { Preferences } from "./records.ts";

/** Preferences of a user who never changed them. */
export const DEFAULT_PREFERENCES: Readonly<Preferences> = Object.freeze({
  enableAllPush: true,
  enableAllInApp: true,
  oneSignalPlayerId: null,
  mutedRoomIds: [],
});

const MAX_ATTEMPTS = 8;

/** The user's preferences, with defaults for anything never set. */
export async function getPreferences(kv: Deno.Kv, userId: string): Promise<Preferences> {
  return withDefaults((await kv.get<Partial<Preferences>>(keys.preferences(userId))).value);
}

/** Preferences of several users, by id (defaults for users without a record). */
export async function getManyPreferences(
  kv: Deno.Kv,
  userIds: Iterable<string>,
): Promise<Map<string, Preferences>> {
  const ids = [...new Set(userIds)];
  const entries = await getManyChunked<Partial<Preferences>>(kv, ids.map((id) => keys.preferences(id)));
  return new Map(ids.map((id, i) => [id, withDefaults(entries[i]!.value)]));
}

/**
 * Changes some of the user's preferences and returns all of them. Concurrent
 * updates of different fields both land (read, merge, commit under a check).
 *
 * @example
 * ```ts
 * await putPreferences(kv, "alice", { mutedRoomIds: ["g_1"] });
 * ```
 */
export async function putPreferences(
  kv: Deno.Kv,
  userId: string,
  patch: Partial<Preferences>,
): Promise<Preferences> {
  const key = keys.preferences(userId);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const entry = await kv.get<Partial<Preferences>>(key);
    const next = withDefaults({ ...entry.value, ...definedOnly(patch) });
    next.mutedRoomIds = [...new Set(next.mutedRoomIds)].slice(0, MAX_MUTED_ROOMS);
    if ((await kv.atomic().check(entry).set(key, next).commit()).ok) return next;
  }
  throw new Error(`Preferences of ${userId} kept changing while being saved`);
}

/** Whether a new message in `roomId` may be pushed to a user with these preferences. */
export function allowsPush(preferences: Preferences, roomId: string): boolean {
  return preferences.enableAllPush && !preferences.mutedRoomIds.includes(roomId);
}

function withDefaults(stored: Partial<Preferences> | null): Preferences {
  return { ...DEFAULT_PREFERENCES, mutedRoomIds: [], ...stored };
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}
