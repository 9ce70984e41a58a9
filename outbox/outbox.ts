/**
 * @module The outbox: events written in the same commit as the change that
 * causes them, one batch per stream and sink, and the wake-ups that get them
 * forwarded afterwards.
 */
import { estimateBytes } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
import type { Profile, RoomEvent } from "../storage/records.ts";

/** Where outbox batches go: realtime (Pusher protocol) and push (OneSignal). */
export type Sink = "realtime" | "push";

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

/** An event as the realtime sink receives it. */
export type RealtimeEvent = RoomEvent;
/** An event as the push sink receives it. */
export type PushEvent = PushMessageEvent;

/** One commit's events for one sink and stream, kept until delivered. */
export interface OutboxBatch<E = RealtimeEvent | PushEvent> {
  stream: string;
  order: number;
  createdAt: number;
  events: E[];
  /** Failed delivery attempts so far. */
  attempts: number;
  nextAttemptAt?: number;
  lastError?: string;
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
}

/** The outbox stream of a room: its events are delivered in this order. */
export function roomStream(roomId: string): string {
  return `room:${roomId}`;
}

/** The rows, wake-ups and size that put one commit's events into the outbox. */
export interface OutboxWrite {
  mutations: Deno.KvMutation[];
  wake: Wake[];
  bytes: number;
}

/**
 * Builds the outbox rows for one commit's events: one batch per sink that has
 * something to do, ordered by `order` within the stream.
 */
export function outboxWrite(
  options: { stream: string; order: number; now: number; push: boolean },
  events: RoomEvent[],
  pushText: (event: Extract<RoomEvent, { type: "message.created" }>) => string,
): OutboxWrite {
  const out: OutboxWrite = { mutations: [], wake: [], bytes: 0 };
  const add = (sink: Sink, batchEvents: (RealtimeEvent | PushEvent)[]) => {
    if (batchEvents.length === 0) return;
    const batch: OutboxBatch = {
      stream: options.stream,
      order: options.order,
      createdAt: options.now,
      events: batchEvents,
      attempts: 0,
    };
    const key = keys.outbox(sink, options.stream, options.order);
    out.mutations.push({ type: "set", key, value: batch });
    out.wake.push({ sink, stream: options.stream });
    out.bytes += estimateBytes(key, batch);
  };
  add("realtime", events);
  if (options.push) {
    add(
      "push",
      events.flatMap((e): PushEvent[] => e.type === "message.created" ? [toPush(e, pushText(e))] : []),
    );
  }
  return out;
}

function toPush(event: Extract<RoomEvent, { type: "message.created" }>, text: string): PushMessageEvent {
  const { message } = event;
  return {
    type: "push.message",
    roomId: message.roomId,
    messageId: message.id,
    seq: message.seq,
    sender: message.sender,
    text,
    recipients: Object.keys(event.unread),
  };
}
