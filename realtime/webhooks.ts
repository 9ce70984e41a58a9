/**
 * @module Pusher webhooks: the `X-Pusher-Signature` check (the same HMAC as every
 * other Pusher signature), freshness, and online state from the events.
 */
import { parseChannel } from "../common/channels.js";
import { applyPresence, type PresenceChange } from "../storage/presence.ts";
import type { PusherCredentials } from "./credentials.ts";
import { hmacSha256Hex, timingSafeEqualString } from "./signature.ts";

/** One webhook event, as Pusher (and the embedded gateway) report them. */
export interface PresenceWebhookEvent {
  name: string;
  channel: string;
  user_id?: string;
}

/** Whether a webhook carries our key and a valid `X-Pusher-Signature` (constant-time). */
export function verifyWebhook(
  credentials: PusherCredentials,
  request: { key: string | undefined; signature: string | undefined; body: string },
): boolean {
  if (request.key !== credentials.key || !request.signature) return false;
  if (!/^[0-9a-f]{64}$/i.test(request.signature)) return false;
  const expected = hmacSha256Hex(credentials.secret, request.body);
  return timingSafeEqualString(expected, request.signature.toLowerCase());
}

/** How far a webhook's `time_ms` may be from the server clock: older ones are replays. */
export const MAX_WEBHOOK_SKEW_MS = 5 * 60_000;

/** Whether a webhook's `time_ms` is within {@linkcode MAX_WEBHOOK_SKEW_MS} of `now`. */
export function isFreshWebhook(timeMs: number, now = Date.now()): boolean {
  return Math.abs(now - timeMs) <= MAX_WEBHOOK_SKEW_MS;
}

/**
 * Updates online state from webhook events, in order: a user's own channel
 * occupied or vacated, and presence members added or removed. Other events are
 * ignored. With `ttlMs` (this server's own gateway) the state expires unless
 * renewed. Returns the changes applied.
 */
export async function applyPresenceWebhook(
  kv: Deno.Kv,
  events: PresenceWebhookEvent[],
  options: { now?: number; ttlMs?: number } = {},
): Promise<PresenceChange[]> {
  const changes = events.flatMap((event): PresenceChange[] => {
    const named = parseChannel(event.channel);
    if (named?.kind === "user" && (event.name === "channel_occupied" || event.name === "channel_vacated")) {
      return [{ userId: named.userId, channel: event.channel, present: event.name === "channel_occupied" }];
    }
    if (
      named?.kind === "presence" && typeof event.user_id === "string" &&
      (event.name === "member_added" || event.name === "member_removed")
    ) {
      return [{ userId: event.user_id, channel: event.channel, present: event.name === "member_added" }];
    }
    return [];
  });
  for (const change of changes) await applyPresence(kv, change, options.now ?? Date.now(), options.ttlMs);
  return changes;
}
