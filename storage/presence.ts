/**
 * @module Online state from the realtime service's webhooks: a user is online
 * while any of their channels (their user channel, presence rooms) has them.
 * State reported by this server's own gateway expires unless renewed, so a
 * server that crashed (and never reported its users leaving) does not leave
 * them online forever.
 */
import { keys } from "./keys.ts";
import { getManyChunked } from "./kv.ts";
import type { Presence } from "./records.ts";

/** The stored presence: what clients see, plus the channels that keep the user online. */
export interface PresenceRecord extends Presence {
  /** Channels where the user is present now; online while not empty. */
  channels?: string[];
  /** When set, the online state holds only until then (epoch ms); a live gateway renews it. */
  until?: number;
}

/** One change reported by the realtime service. */
export interface PresenceChange {
  userId: string;
  channel: string;
  present: boolean;
}

const MAX_ATTEMPTS = 8;
/** A user is in far fewer channels; the cap keeps a lost "left" from growing the record. */
const MAX_CHANNELS = 100;
/** Records renewed per commit: each is checked, and KV takes 100 checks per atomic. */
const RENEWALS_PER_COMMIT = 50;

/** What a stored record means at `now`: online only while its channels hold and it has not expired. */
export function presenceAt(record: PresenceRecord | null, now: number): Presence {
  if (record === null) return { online: false, lastSeenAt: null };
  const expired = record.until !== undefined && record.until <= now;
  return { online: record.online && !expired, lastSeenAt: record.lastSeenAt };
}

/**
 * Applies one change: joins or leaves a channel and updates `online` and
 * `lastSeenAt`. With `ttlMs`, the online state expires after that long unless
 * `renewPresence` extends it.
 */
export async function applyPresence(
  kv: Deno.Kv,
  change: PresenceChange,
  now = Date.now(),
  ttlMs?: number,
): Promise<Presence> {
  const key = keys.presence(change.userId);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const entry = await kv.get<PresenceRecord>(key);
    // Channels of a record that expired were left by a server that is gone: start afresh.
    const live = entry.value && presenceAt(entry.value, now).online ? entry.value.channels ?? [] : [];
    const channels = new Set(live);
    if (change.present) channels.add(change.channel);
    else channels.delete(change.channel);
    const next: PresenceRecord = {
      online: channels.size > 0,
      lastSeenAt: now,
      channels: [...channels].slice(-MAX_CHANNELS),
      ...(ttlMs !== undefined ? { until: now + ttlMs } : {}),
    };
    if ((await kv.atomic().check(entry).set(key, next).commit()).ok) {
      return { online: next.online, lastSeenAt: next.lastSeenAt };
    }
  }
  throw new Error(`Presence of ${change.userId} kept changing while being saved`);
}

/**
 * Extends the online state of users a live gateway still holds, to `now + ttlMs`.
 * Records changed meanwhile are left for the next renewal.
 */
export async function renewPresence(
  kv: Deno.Kv,
  userIds: string[],
  now: number,
  ttlMs: number,
): Promise<void> {
  for (let i = 0; i < userIds.length; i += RENEWALS_PER_COMMIT) {
    const chunk = userIds.slice(i, i + RENEWALS_PER_COMMIT).map((id) => keys.presence(id));
    const entries = await getManyChunked<PresenceRecord>(kv, chunk);
    const op = kv.atomic();
    for (const entry of entries) {
      if (!entry.value?.online) continue;
      op.check(entry).set(entry.key, { ...entry.value, lastSeenAt: now, until: now + ttlMs });
    }
    await op.commit();
  }
}

/**
 * Keeps the online state of the users connected to this process's gateway
 * alive: counts their channels from the gateway's reports and renews them
 * every third of the time to live.
 */
export class PresenceRenewer {
  readonly #kv: Deno.Kv;
  readonly #ttlMs: number;
  readonly #channels = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #renewing: Promise<void> = Promise.resolve();

  constructor(kv: Deno.Kv, ttlMs: number) {
    this.#kv = kv;
    this.#ttlMs = ttlMs;
  }

  /** How long reported presence lasts without renewal. */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** Notes changes this process's gateway reported (and applied with `ttlMs`). */
  track(changes: PresenceChange[]): void {
    for (const { userId, present } of changes) {
      const count = (this.#channels.get(userId) ?? 0) + (present ? 1 : -1);
      if (count > 0) this.#channels.set(userId, count);
      else this.#channels.delete(userId);
    }
  }

  start(): void {
    this.#timer ??= setInterval(() => {
      const users = [...this.#channels.keys()];
      if (users.length === 0) return;
      this.#renewing = renewPresence(this.#kv, users, Date.now(), this.#ttlMs).catch((err) => {
        console.error("presence: renewal failed; the next one comes soon", err);
      });
    }, Math.max(1000, this.#ttlMs / 3));
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#renewing;
  }
}
