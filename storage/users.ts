/** @module User profiles: upserted from token claims or by an admin, read in bulk. */
import { keys } from "./keys.ts";
import { getManyChunked } from "./kv.ts";
import { presenceAt, type PresenceRecord } from "./presence.ts";
import type { Presence, Profile, UserRecord } from "./records.ts";

/** Profiles remembered in memory so that a request whose claims did not change writes nothing. */
const CACHE_LIMIT = 10_000;
const MAX_ATTEMPTS = 8;

/** Reads and upserts users; remembers recent profiles to skip needless writes. */
export class UserStore {
  readonly #kv: Deno.Kv;
  readonly #known = new Map<string, UserRecord>();

  constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /**
   * Creates the user or updates their name and avatar; writes only when
   * something changed. `name` undefined keeps the stored name (or uses the id).
   */
  async upsert(profile: { id: string; name?: string; avatar?: string | null }): Promise<UserRecord> {
    const cached = this.#known.get(profile.id);
    if (cached && !differs(cached, profile)) return cached;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const entry = await this.#kv.get<UserRecord>(keys.user(profile.id));
      const now = Date.now();
      const current = entry.value;
      if (current && !differs(current, profile)) return this.#remember(current);
      const next: UserRecord = {
        id: profile.id,
        name: profile.name ?? current?.name ?? profile.id,
        avatar: profile.avatar !== undefined ? profile.avatar : current?.avatar ?? null,
        createdAt: current?.createdAt ?? now,
        updatedAt: now,
      };
      const result = await this.#kv.atomic().check(entry).set(keys.user(profile.id), next).commit();
      if (result.ok) return this.#remember(next);
    }
    throw new Error(`User ${profile.id} kept changing while being saved`);
  }

  /**
   * The user, or null when they never signed in and were never provisioned.
   * Users are never deleted, so a user this process has seen is served from memory.
   */
  async get(id: string): Promise<UserRecord | null> {
    const known = this.#known.get(id);
    if (known) return known;
    const user = (await this.#kv.get<UserRecord>(keys.user(id))).value;
    return user ? this.#remember(user) : null;
  }

  /** Profiles of the given users that exist, by id. */
  async profiles(ids: Iterable<string>): Promise<Map<string, Profile>> {
    const wanted = [...new Set(ids)];
    const entries = await getManyChunked<UserRecord>(this.#kv, wanted.map((id) => keys.user(id)));
    const out = new Map<string, Profile>();
    for (const entry of entries) {
      if (entry.value) out.set(entry.value.id, toProfile(entry.value));
    }
    return out;
  }

  /** Presence of the given users now; users never seen online, or whose state expired, are offline. */
  async presence(ids: Iterable<string>): Promise<Map<string, Presence>> {
    const wanted = [...new Set(ids)];
    const entries = await getManyChunked<PresenceRecord>(this.#kv, wanted.map((id) => keys.presence(id)));
    const now = Date.now();
    return new Map(wanted.map((id, i) => [id, presenceAt(entries[i]!.value, now)]));
  }

  #remember(user: UserRecord): UserRecord {
    this.#known.delete(user.id);
    this.#known.set(user.id, user);
    if (this.#known.size > CACHE_LIMIT) this.#known.delete(this.#known.keys().next().value!);
    return user;
  }
}

/** The public part of a user record. */
export function toProfile(user: UserRecord): Profile {
  return { id: user.id, name: user.name, avatar: user.avatar };
}

function differs(user: UserRecord, profile: { name?: string; avatar?: string | null }): boolean {
  return (profile.name !== undefined && profile.name !== user.name) ||
    (profile.avatar !== undefined && profile.avatar !== user.avatar);
}
