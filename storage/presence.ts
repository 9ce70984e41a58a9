/**
 * @module Online state from the realtime service's webhooks: a user is online
 * while any of their channels (their user channel, presence rooms) has them.
 */
import { keys } from "./keys.ts";
import type { Presence } from "./records.ts";

/** The stored presence: what clients see, plus the channels that keep the user online. */
export interface PresenceRecord extends Presence {
  /** Channels where the user is present now; online while not empty. */
  channels?: string[];
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

/** Applies one change: joins or leaves a channel and updates `online` and `lastSeenAt`. */
export async function applyPresence(
  kv: Deno.Kv,
  change: PresenceChange,
  now = Date.now(),
): Promise<Presence> {
  const key = keys.presence(change.userId);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const entry = await kv.get<PresenceRecord>(key);
    const channels = new Set(entry.value?.channels ?? []);
    if (change.present) channels.add(change.channel);
    else channels.delete(change.channel);
    const next: PresenceRecord = {
      online: channels.size > 0,
      lastSeenAt: now,
      channels: [...channels].slice(-MAX_CHANNELS),
    };
    if ((await kv.atomic().check(entry).set(key, next).commit()).ok) {
      return { online: next.online, lastSeenAt: next.lastSeenAt };
    }
  }
  throw new Error(`Presence of ${change.userId} kept changing while being saved`);
}
