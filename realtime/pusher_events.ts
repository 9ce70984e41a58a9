/**
 * @module From outbox events to Pusher channel events (API.md's "Realtime" table):
 * channel names, payloads, the 10 KB truncation and batches of ten. Pure.
 */
import type { TypingEvent } from "../actors/room_actor.ts";
import { type AttachmentLinks, iso, messageView } from "../api/views.ts";
import type { RoomEvent } from "../storage/records.ts";
import { presenceRoomChannel, roomChannel, userChannel } from "../common/channels.js";
import type { NotificationEvent, RealtimeEvent } from "../outbox/outbox.ts";
import type { Position } from "./channel_positions.ts";
import { exceedsMessageLimit, MAX_MESSAGE_BYTES } from "./protocol.ts";

/** One event as `triggerBatch` takes it: `data` is already JSON. */
export interface PusherEvent {
  channel: string;
  name: string;
  data: string;
  /** Where a room-channel event of an outbox batch stands in its room (never sent to clients). */
  position?: Position;
}

/** Pusher refuses event data over 10 KB. */
export const MAX_EVENT_BYTES = MAX_MESSAGE_BYTES;
/** Pusher takes at most ten events per batch call. */
export const MAX_BATCH_EVENTS = 10;

/** What mapping needs besides the event: each user's unread total, read at delivery. */
export interface MappingContext {
  totalUnread: (userId: string) => number;
  /** Signs uploaded attachments' links as the events go out. */
  links: AttachmentLinks;
  /** Only the room channel's events are wanted: a new message's copies for members' own channels are not built. */
  roomChannelOnly?: boolean;
}

/** Users whose unread total the events' payloads carry. */
export function usersNeedingTotals(events: RealtimeEvent[]): string[] {
  const ids = new Set<string>();
  for (const event of events) {
    if (event.type === "message.created") { for (const id of Object.keys(event.unread)) ids.add(id); }
    if (event.type === "message.read") ids.add(event.readBy);
    if (event.type === "message.deleted") { for (const id of Object.keys(event.unread)) ids.add(id); }
  }
  return [...ids];
}

/**
 * The Pusher events that tell clients about one outbox event. Room events carry
 * the room's `seq`; data over 10 KB is replaced by a stub that says where to
 * fetch the rest (`truncated: true`).
 */
export function toPusherEvents(event: RealtimeEvent, context: MappingContext): PusherEvent[] {
  switch (event.type) {
    case "room.created":
      // Members' clients refresh their room list; the room has no message yet.
      return event.memberIds.map((userId) =>
        encodeEvent(userChannel(userId), "room-created", {
          roomId: event.roomId,
          seq: 0,
          memberIds: event.memberIds,
        })
      );
    case "message.created":
      return messageCreated(event, context);
    case "message.read": {
      const stub = { roomId: event.roomId, seq: event.seq, messageId: event.messageId };
      return [
        encodeEvent(roomChannel(event.roomId), "message-read", {
          ...stub,
          readBy: event.readBy,
          readAt: iso(event.readAt),
        }),
        unreadUpdated(event, event.readBy, event.unreadCount, context),
      ];
    }
    case "message.updated":
      return [
        encodeEvent(roomChannel(event.roomId), "message-updated", {
          roomId: event.roomId,
          seq: event.seq,
          messageId: event.messageId,
          senderId: event.senderId,
          content: event.content,
          isEdited: true,
          editedAt: iso(event.editedAt),
        }),
      ];
    case "message.deleted":
      return [
        encodeEvent(roomChannel(event.roomId), "message-deleted", {
          roomId: event.roomId,
          seq: event.seq,
          messageId: event.messageId,
          deletedBy: event.deletedBy,
          deletedAt: iso(event.deletedAt),
        }),
        ...Object.entries(event.unread).map(([userId, unreadCount]) =>
          unreadUpdated(event, userId, unreadCount, context)
        ),
      ];
    case "reaction.updated": {
      const { type: _, ...data } = event;
      return [
        encodeEvent(roomChannel(event.roomId), "reaction-updated", { ...data, count: event.userIds.length }),
      ];
    }
    case "member.added": {
      const { type: _, ...data } = event;
      // Added users are not on the room channel yet: their own channel tells them to refresh.
      return [roomChannel(event.roomId), ...event.userIds.map(userChannel)].map((channel) =>
        encodeEvent(channel, "member-added", data)
      );
    }
    case "member.removed": {
      const { type: _, ...data } = event;
      return [roomChannel(event.roomId), userChannel(event.userId)].map((channel) =>
        encodeEvent(channel, "member-removed", data)
      );
    }
    case "room.updated": {
      const { type: _, ...data } = event;
      // Room lists show the name, avatar and roles: every member's own channel hears of it too.
      return [roomChannel(event.roomId), ...event.memberIds.map(userChannel)].map((channel) =>
        encodeEvent(channel, "room-updated", data)
      );
    }
    case "room.archived":
      // Archiving is per user: only the user's own devices hear of it.
      return [
        encodeEvent(userChannel(event.userId), "room-archived", {
          roomId: event.roomId,
          seq: event.seq,
          archived: event.archived,
        }),
      ];
    case "notification":
      return [notification(event)];
    default:
      return unknownEvent(event);
  }
}

/**
 * A user's access to channels ending: the subscriptions they hold to them are dropped (the
 * embedded gateway), or their connections are terminated (Pusher Channels), before anything
 * after it is published.
 */
export interface Revocation {
  userId: string;
  channels: string[];
}

/** The revocation an outbox event implies: a member removed (or who left) loses the room's channels. */
export function revocationOf(event: RealtimeEvent): Revocation | null {
  return event.type === "member.removed" ? roomRevocation(event.roomId, event.userId) : null;
}

/** What ends a former member's access to a room: its room and presence channels. */
function roomRevocation(roomId: string, userId: string): Revocation {
  return { userId, channels: [roomChannel(roomId), presenceRoomChannel(roomId)] };
}

/** The room channel's `user-typing` event; typing is never stored. */
export function typingEvent(event: TypingEvent): PusherEvent {
  return encodeEvent(roomChannel(event.roomId), "user-typing", {
    roomId: event.roomId,
    userId: event.userId,
    userName: event.userName,
    isTyping: event.isTyping,
  });
}

/**
 * Serializes `data`; when it exceeds 10 KB, sends `{...stub, truncated: true}`
 * instead (the stub names the room, seq and message to fetch).
 */
export function encodeEvent(
  channel: string,
  name: string,
  data: Record<string, unknown>,
  stub: Record<string, unknown> = pickStub(data),
): PusherEvent {
  return encodeJson(channel, name, JSON.stringify(data), stub);
}

/** `encodeEvent` for data already serialized (as `JSON.stringify` would have written it). */
function encodeJson(channel: string, name: string, json: string, stub: Record<string, unknown>): PusherEvent {
  if (!exceedsMessageLimit(json)) return { channel, name, data: json };
  return { channel, name, data: JSON.stringify({ ...stub, truncated: true }) };
}

/** Splits items into runs of at most `size`, in order. */
export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function messageCreated(
  event: Extract<RoomEvent, { type: "message.created" }>,
  context: MappingContext,
): PusherEvent[] {
  const message = messageView(event.message, { receiverId: event.receiverId, readAt: null }, context.links);
  const stub = { roomId: message.roomId, seq: message.seq, messageId: message.id };
  // Serialized once for the room and every member: the same text JSON.stringify gives for each payload.
  const messageJson = JSON.stringify(message);
  const roomIdJson = JSON.stringify(message.roomId);
  const out = [encodeJson(roomChannel(message.roomId), "new-message", messageJson, stub)];
  if (context.roomChannelOnly) return out;
  for (const [userId, unreadCount] of Object.entries(event.unread)) {
    const counts = { unreadCount, totalUnread: context.totalUnread(userId) };
    const json = `{"message":${messageJson},"roomId":${roomIdJson},"unreadCount":${
      JSON.stringify(counts.unreadCount)
    },"totalUnread":${JSON.stringify(counts.totalUnread)}}`;
    out.push(encodeJson(userChannel(userId), "new-message", json, { ...stub, ...counts }));
  }
  return out;
}

/** A user's `unread-updated`: the room's count after `event`, and their total read now. */
function unreadUpdated(
  event: { roomId: string; seq: number },
  userId: string,
  unreadCount: number,
  context: MappingContext,
): PusherEvent {
  return encodeEvent(userChannel(userId), "unread-updated", {
    roomId: event.roomId,
    seq: event.seq,
    unreadCount,
    totalUnread: context.totalUnread(userId),
  });
}

function notification(event: NotificationEvent): PusherEvent {
  const id = event.notification.id;
  return encodeEvent(userChannel(event.userId), "notification", event.notification, { id });
}

function pickStub(data: Record<string, unknown>): Record<string, unknown> {
  const stub: Record<string, unknown> = {};
  for (const name of ["roomId", "seq", "messageId", "id"]) if (name in data) stub[name] = data[name];
  return stub;
}

/** Adding an event type without mapping it fails type checking here. */
function unknownEvent(event: never): PusherEvent[] {
  console.warn(`outbox: no realtime mapping for event type ${(event as { type?: string }).type}`);
  return [];
}
