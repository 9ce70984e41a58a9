/**
 * @module The outbox: events written in the same commit as the change that
 * causes them, one batch per stream and sink, and the wake-ups that get them
 * forwarded afterwards.
 */
import { truncate } from "../common/preview.js";
import { estimateBytes } from "../storage/kv_size.ts";
import { keys } from "../storage/keys.ts";
import type { Profile, RoomEvent, RoomState } from "../storage/records.ts";
import { COUNT_MUTATION_BYTES, countMove, trackAge } from "./counters.ts";

/** Push bodies are cut to this many characters. */
export const PUSH_TEXT_LENGTH = 100;

/**
 * Where outbox batches go: realtime (Pusher protocol), push (OneSignal), and
 * social (the notifications a room change causes, written into users' feeds).
 */
export const SINKS = ["realtime", "push", "social"] as const;
export type Sink = (typeof SINKS)[number];

/** Whether `value` names a sink. */
export function isSink(value: unknown): value is Sink {
  return (SINKS as readonly unknown[]).includes(value);
}

/** A push to send for a new message, before recipients' preferences are applied. */
export interface PushMessageEvent {
  type: "push.message";
  roomId: string;
  messageId: string;
  seq: number;
  sender: Profile;
  /** The message text or attachment label, at most 100 characters. */
  text: string;
  /** Active members other than the sender; preferences and mutes are checked at delivery. */
  recipients: string[];
}

/**
 * A push for a social notification (follow, added to a group, …). The user's
 * preferences are checked again at delivery; `eventId` keeps retries idempotent.
 */
export interface PushNotificationEvent {
  type: "push.notification";
  userId: string;
  /** The user's `oneSignalPlayerId` when the notification was written (delivery reads it again). */
  subscriptionId: string | null;
  /** Stable across retries, e.g. `notification:{userId}:{seq}`. */
  eventId: string;
  notification: {
    id: string;
    type: string;
    title: string;
    body: string;
    link: string | null;
    metadata?: Record<string, unknown>;
  };
}

/** A social notification for one user, forwarded on their user channel as `notification`. */
export interface NotificationEvent {
  type: "notification";
  userId: string;
  /** The notification as `GET /api/notifications` shows it. */
  notification: Record<string, unknown>;
}

/**
 * Users a room commit put into a group (created with them, or added them):
 * each gets a `group.added` notification, written by the social sink, once.
 */
export interface GroupAddedEvent {
  type: "group.added";
  roomId: string;
  /** The group's name in the commit that added them. */
  roomName: string;
  /** Who created the group or added them. */
  actorId: string;
  userIds: string[];
}

/** An event as the realtime sink receives it. */
export type RealtimeEvent = RoomEvent | NotificationEvent;
/** An event as the push sink receives it. */
export type PushEvent = PushMessageEvent | PushNotificationEvent;
/** An event as the social sink receives it. */
export type SocialEvent = GroupAddedEvent;
/** Any outbox event. */
export type OutboxEvent = RealtimeEvent | PushEvent | SocialEvent;

/** One commit's events for one sink and stream, kept until delivered. */
export interface OutboxBatch<E = OutboxEvent> {
  stream: string;
  order: number;
  createdAt: number;
  events: E[];
  /** Failed delivery attempts so far. */
  attempts: number;
  nextAttemptAt?: number;
  lastError?: string;
  /** Put back by an operator after it went dead: sent again to every socket, out of its stream's order. */
  replayed?: true;
}

/** A batch moved aside after its last failed attempt, until an operator replays or purges it. */
export interface DeadBatch<E = OutboxEvent> extends OutboxBatch<E> {
  sink: Sink;
  deadAt: number;
}

/** Asks the watcher to drain one stream of one sink. */
export interface Wake {
  sink: Sink;
  stream: string;
}

/** The queue message that carries one commit's wake-ups. */
export interface WakeMessage {
  kind: "outbox.wake";
  wake: Wake[];
  /** Set when the commit woke too many streams to list: sweep every stream instead. */
  sweep?: boolean;
}

/** The outbox stream of a room: its events are delivered in this order. */
export function roomStream(roomId: string): string {
  return `room:${roomId}`;
}

/** The room whose stream `stream` is, or null for another stream. */
export function roomOfStream(stream: string): string | null {
  return stream.startsWith("room:") ? stream.slice("room:".length) : null;
}

/** The outbox stream of one user's own events (notifications). */
export function userStream(userId: string): string {
  return `user:${userId}`;
}

/** The name operators use for a batch: `{sink}:{stream}:{order}`. */
export function batchId(sink: string, stream: string, order: number): string {
  return `${sink}:${stream}:${order}`;
}

/** The parts of a batch id, or null when it is not one. */
export function parseBatchId(id: string): { sink: Sink; stream: string; order: number } | null {
  const match = /^(realtime|push|social):(.+):(\d{1,15})$/.exec(id);
  if (!match) return null;
  return { sink: match[1] as Sink, stream: match[2]!, order: Number(match[3]) };
}

/** The rows, wake-ups and size that put one commit's events into the outbox. */
export interface OutboxWrite {
  mutations: Deno.KvMutation[];
  wake: Wake[];
  bytes: number;
}

/**
 * Builds the outbox row of one batch for one sink, for commits that are not
 * room commits (e.g. a user's notification on stream `userStream(userId)`).
 * `order` must grow strictly within the stream, and the row must be written in
 * the same atomic as the change it reports (with the pending counter's `sum`,
 * included in `mutations`); put `wake` on the `CommitUnit`.
 *
 * @example
 * ```ts
 * const out = outboxBatchWrite("realtime", { stream: userStream("bob"), order: 7, now: Date.now() }, [event]);
 * await batcher.commit({ checks, mutations: [...mutations, ...out.mutations], wake: out.wake, bytes });
 * ```
 */
export function outboxBatchWrite(
  sink: Sink,
  options: { stream: string; order: number; now: number },
  events: OutboxEvent[],
): OutboxWrite {
  const out: OutboxWrite = { mutations: [], wake: [], bytes: 0 };
  if (events.length === 0) return out;
  const batch: OutboxBatch = {
    stream: options.stream,
    order: options.order,
    createdAt: options.now,
    events,
    attempts: 0,
  };
  const key = keys.outbox(sink, options.stream, options.order);
  const age = trackAge(sink, batch);
  out.mutations.push({ type: "set", key, value: batch }, ...countMove(sink, null, "pending"), age);
  out.wake.push({ sink, stream: options.stream });
  out.bytes += estimateBytes(key, batch) + 2 * COUNT_MUTATION_BYTES;
  return out;
}

/**
 * Builds the outbox rows for one room commit's events: one batch per sink that
 * has something to do, ordered by `order` within the stream. `room` is the
 * room after the commit (the social sink names the group and its creator).
 */
export function outboxWrite(
  options: {
    stream: string;
    order: number;
    now: number;
    push: boolean;
    room: Pick<RoomState, "type" | "name" | "createdBy">;
  },
  events: RoomEvent[],
  pushText: (event: Extract<RoomEvent, { type: "message.created" }>) => string,
): OutboxWrite {
  const out: OutboxWrite = { mutations: [], wake: [], bytes: 0 };
  const add = (sink: Sink, batchEvents: OutboxEvent[]) => {
    const one = outboxBatchWrite(sink, options, batchEvents);
    out.mutations.push(...one.mutations);
    out.wake.push(...one.wake);
    out.bytes += one.bytes;
  };
  add("realtime", events);
  if (options.push) {
    add(
      "push",
      events.flatMap((e): PushEvent[] => e.type === "message.created" ? [toPush(e, pushText(e))] : []),
    );
  }
  if (options.room.type === "GROUP") add("social", events.flatMap((e) => groupAdded(e, options.room)));
  return out;
}

/** The users a group's `room.created` or `member.added` event put into it, as a social event. */
function groupAdded(event: RoomEvent, room: Pick<RoomState, "name" | "createdBy">): GroupAddedEvent[] {
  const of = (roomId: string, actorId: string, userIds: string[]): GroupAddedEvent[] =>
    userIds.length === 0 ? [] : [{ type: "group.added", roomId, roomName: room.name, actorId, userIds }];
  if (event.type === "room.created") {
    return of(event.roomId, room.createdBy, event.memberIds.filter((id) => id !== room.createdBy));
  }
  return event.type === "member.added" ? of(event.roomId, event.addedBy, event.userIds) : [];
}

function toPush(event: Extract<RoomEvent, { type: "message.created" }>, text: string): PushMessageEvent {
  const { message } = event;
  return {
    type: "push.message",
    roomId: message.roomId,
    messageId: message.id,
    seq: message.seq,
    sender: message.sender,
    text: truncate(text, PUSH_TEXT_LENGTH),
    recipients: Object.keys(event.unread),
  };
}
