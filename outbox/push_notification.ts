/**
 * @module From a new message to OneSignal notifications: who gets one (their
 * preferences), how each is targeted, the body, and an idempotency key that is
 * the same on every retry. Pure.
 */
import { createHash } from "node:crypto";
import { allowsPush } from "../storage/preferences.ts";
import type { Preferences } from "../storage/records.ts";
import { PUSH_TEXT_LENGTH, type PushMessageEvent, type PushNotificationEvent } from "./outbox.ts";

/** One notification's audience: users by external id, or OneSignal subscription ids. */
export type PushTarget =
  | { kind: "external_id"; userIds: string[] }
  | { kind: "subscription"; userIds: string[]; subscriptionIds: string[] };

/** OneSignal accepts up to 20,000 targets per call; stay far below. */
export const MAX_TARGETS_PER_NOTIFICATION = 2000;

/**
 * Splits the event's recipients by how they are reached: users with a stored
 * `oneSignalPlayerId` by that subscription, the others by external id. Users
 * who turned push off or muted the room are `skipped`.
 */
export function pushTargets(
  event: PushMessageEvent,
  preferences: Map<string, Preferences>,
): { targets: PushTarget[]; skipped: string[] } {
  const external: string[] = [];
  const subscribed: [string, string][] = [];
  const skipped: string[] = [];
  for (const userId of [...new Set(event.recipients)].sort()) {
    const prefs = preferences.get(userId);
    if (prefs && !allowsPush(prefs, event.roomId)) skipped.push(userId);
    else if (prefs?.oneSignalPlayerId) subscribed.push([userId, prefs.oneSignalPlayerId]);
    else external.push(userId);
  }
  const targets: PushTarget[] = [];
  for (let i = 0; i < external.length; i += MAX_TARGETS_PER_NOTIFICATION) {
    targets.push({ kind: "external_id", userIds: external.slice(i, i + MAX_TARGETS_PER_NOTIFICATION) });
  }
  for (let i = 0; i < subscribed.length; i += MAX_TARGETS_PER_NOTIFICATION) {
    const part = subscribed.slice(i, i + MAX_TARGETS_PER_NOTIFICATION);
    targets.push({
      kind: "subscription",
      userIds: part.map(([userId]) => userId),
      subscriptionIds: part.map(([, id]) => id),
    });
  }
  return { targets, skipped };
}

/** The id of a push event: its message. Retries of the same batch give the same id. */
export function pushEventId(event: PushMessageEvent): string {
  return `push:${event.messageId}`;
}

/** A short stable name of a target group, for outcome keys. */
export function targetGroup(target: PushTarget): string {
  return sha256Hex(`${target.kind}\n${target.userIds.join("\n")}`).slice(0, 24);
}

/**
 * A UUID (version 5 layout) derived from the event and its target group:
 * OneSignal ignores a repeat of the same key for 30 days, so a retried batch
 * never pushes twice.
 *
 * @example
 * ```ts
 * idempotencyKey("push:dm_x:7", target) === idempotencyKey("push:dm_x:7", target); // true
 * ```
 */
export function idempotencyKey(eventId: string, target: PushTarget): string {
  const bytes = createHash("sha256").update(`${eventId}\n${targetGroup(target)}`).digest().subarray(0, 16);
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

/** The notification for one target group (API.md "Push"). */
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
    idempotency_key: idempotencyKey(pushEventId(event), target),
  };
}

/** The one target of a notification push, or null when the user turned push off. */
export function notificationTarget(
  event: PushNotificationEvent,
  preferences: Preferences | undefined,
): PushTarget | null {
  if (preferences && !preferences.enableAllPush) return null;
  const subscription = preferences ? preferences.oneSignalPlayerId : event.subscriptionId;
  return subscription
    ? { kind: "subscription", userIds: [event.userId], subscriptionIds: [subscription] }
    : { kind: "external_id", userIds: [event.userId] };
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
    idempotency_key: idempotencyKey(event.eventId, target),
  };
}

/** Whom a notification goes to, as OneSignal spells it. */
function envelope(appId: string, target: PushTarget) {
  return {
    app_id: appId,
    target_channel: "push" as const,
    ...(target.kind === "external_id"
      ? { include_aliases: { external_id: target.userIds } }
      : { include_subscription_ids: target.subscriptionIds }),
  };
}

/** A push body: at most `PUSH_TEXT_LENGTH` characters, never empty. */
function pushText(text: string): string {
  return [...text].slice(0, PUSH_TEXT_LENGTH).join("") || "…";
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
