/**
 * @module From a new message to OneSignal notifications: who gets one (their
 * preferences), how each is targeted, the body, and an idempotency key per
 * event and recipient, the same on every retry however the recipients'
 * preferences change in between. Pure.
 */
import { createHash } from "node:crypto";
import { truncate } from "../common/preview.js";
import { allowsPush } from "../storage/preferences.ts";
import type { Preferences } from "../storage/records.ts";
import { PUSH_TEXT_LENGTH, type PushMessageEvent, type PushNotificationEvent } from "./outbox.ts";

/**
 * One recipient of a push and how OneSignal reaches them: by their external id
 * (the user id), or by the OneSignal subscription id stored in their preferences.
 */
export type PushTarget =
  | { kind: "external_id"; userId: string }
  | { kind: "subscription"; userId: string; subscriptionId: string };

/**
 * One target per recipient whose preferences allow the push, in user id order;
 * users who turned push off or muted the room are `skipped`. Each recipient
 * gets a notification of their own, so that its idempotency key depends on
 * nothing but the event and the recipient (grouping recipients by how they are
 * reached would change the groups, and so the keys, whenever a preference
 * changes between two attempts).
 */
export function pushTargets(
  event: PushMessageEvent,
  preferences: Map<string, Preferences>,
): { targets: PushTarget[]; skipped: string[] } {
  const targets: PushTarget[] = [];
  const skipped: string[] = [];
  for (const userId of [...new Set(event.recipients)].sort()) {
    const prefs = preferences.get(userId);
    if (prefs && !allowsPush(prefs, event.roomId)) skipped.push(userId);
    else targets.push(targetOf(userId, prefs?.oneSignalPlayerId ?? null));
  }
  return { targets, skipped };
}

/** The id of a push event: its message. Retries of the same batch give the same id. */
export function pushEventId(event: PushMessageEvent): string {
  return `push:${event.messageId}`;
}

/**
 * A UUID (version 5 layout) derived from the event and the recipient: OneSignal
 * ignores a repeat of the same key for 30 days, so a retried batch never pushes
 * anyone twice, whether or not the recipient's preferences (or subscription)
 * changed in between.
 *
 * @example
 * ```ts
 * idempotencyKey("push:dm_x:7", "bob") === idempotencyKey("push:dm_x:7", "bob"); // true
 * ```
 */
export function idempotencyKey(eventId: string, userId: string): string {
  const bytes = createHash("sha256").update(`${eventId}\n${userId}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The body of OneSignal's create-notification call, as its JSON field names spell it. */
export interface NotificationBody {
  app_id: string;
  target_channel: "push";
  include_aliases?: { external_id: string[] };
  include_subscription_ids?: string[];
  headings: { en: string };
  contents: { en: string };
  url: string;
  chrome_web_icon?: string;
  large_icon?: string;
  data: Record<string, unknown>;
  idempotency_key: string;
}

/** The notification for one recipient (API.md "Push"). */
export function buildNotification(
  appId: string,
  event: PushMessageEvent,
  target: PushTarget,
): NotificationBody {
  const avatar = event.sender.avatar;
  return {
    ...envelope(appId, target),
    headings: { en: `Pesan dari ${event.sender.name}` },
    contents: { en: pushText(event.text) },
    url: `/messages?room=${encodeURIComponent(event.roomId)}`,
    ...(avatar ? { chrome_web_icon: avatar, large_icon: avatar } : {}),
    data: { type: "new-message", roomId: event.roomId, messageId: event.messageId, seq: event.seq },
    idempotency_key: idempotencyKey(pushEventId(event), target.userId),
  };
}

/** The one target of a notification push, or null when the user turned push off. */
export function notificationTarget(
  event: PushNotificationEvent,
  preferences: Preferences | undefined,
): PushTarget | null {
  if (preferences && !preferences.enableAllPush) return null;
  return targetOf(event.userId, preferences ? preferences.oneSignalPlayerId : event.subscriptionId);
}

function targetOf(userId: string, subscriptionId: string | null): PushTarget {
  return subscriptionId ? { kind: "subscription", userId, subscriptionId } : { kind: "external_id", userId };
}

/** The push of a social notification: its title as heading, its body (cut) as text, its link. */
export function buildNotificationPush(
  appId: string,
  event: PushNotificationEvent,
  target: PushTarget,
): NotificationBody {
  const { notification } = event;
  const avatar = notification.metadata?.actorAvatar;
  const text = notification.body || notification.title;
  return {
    ...envelope(appId, target),
    headings: { en: notification.title },
    contents: { en: pushText(text) },
    url: notification.link ?? "/notifications",
    ...(typeof avatar === "string" && avatar ? { chrome_web_icon: avatar, large_icon: avatar } : {}),
    data: { type: "notification", notificationId: notification.id, kind: notification.type },
    idempotency_key: idempotencyKey(event.eventId, target.userId),
  };
}

/** Whom a notification goes to, as OneSignal spells it. */
function envelope(appId: string, target: PushTarget) {
  return {
    app_id: appId,
    target_channel: "push" as const,
    ...(target.kind === "external_id"
      ? { include_aliases: { external_id: [target.userId] } }
      : { include_subscription_ids: [target.subscriptionId] }),
  };
}

/** A push body: at most `PUSH_TEXT_LENGTH` characters, never empty. */
function pushText(text: string): string {
  return truncate(text, PUSH_TEXT_LENGTH) || "…";
}
