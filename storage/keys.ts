/**
 * @module Every KV key layout in the app. Nothing else spells out a key array.
 * A changed layout is a data migration; `keys_test.ts` pins them.
 */

/**
 * Key builders, one per kind of record.
 *
 * @example
 * ```ts
 * await kv.get(keys.room("general"));          // ["room", "general"]
 * kv.list({ prefix: keys.messages("general") }); // every message row, seq order
 * ```
 */
export const keys = {
  /** The room head (`RoomState`). */
  room: (roomId: string) => ["room", roomId] as const,
  /** One message row (`StoredMessage`); numeric seq so listing returns seq order. */
  message: (roomId: string, seq: number) => ["msg", roomId, seq] as const,
  /** Prefix of a room's message rows. */
  messages: (roomId: string) => ["msg", roomId] as const,
  /** A previous version of an edited message. */
  messageVersion: (roomId: string, seq: number, version: number) =>
    ["msg_version", roomId, seq, version] as const,
  /** Idempotency: a sender's `clientMessageId` in a room → the seq it created. */
  clientMessage: (roomId: string, senderId: string, clientMessageId: string) =>
    ["client_msg", roomId, senderId, clientMessageId] as const,
  /** A user's active rooms, ordered by last activity; the value is empty. */
  userRoom: (userId: string, archived: boolean, lastActivityAt: number, roomId: string) =>
    ["user_rooms", userId, archived, lastActivityAt, roomId] as const,
  /** Prefix of a user's archived or unarchived rooms. */
  userRooms: (userId: string, archived: boolean) => ["user_rooms", userId, archived] as const,
  /** Sum of the user's unread counts over their active rooms (`Deno.KvU64`). */
  unreadTotal: (userId: string) => ["unread_total", userId] as const,
  /** The user's profile (`UserRecord`). */
  user: (userId: string) => ["user", userId] as const,
  /** The user's online state and last-seen time (`Presence`). */
  presence: (userId: string) => ["presence", userId] as const,
  /** The user's recent send times, for the rolling-minute rate limit. */
  sendLog: (userId: string) => ["rate", "send", userId] as const,
  /** A setting generated once and kept (demo JWT secret, Pusher credentials). */
  setting: (name: string) => ["setting", name] as const,
  /** A pending outbox batch of one stream for one sink. */
  outbox: (sink: string, stream: string, order: number) => ["outbox", sink, stream, order] as const,
  /** Prefix of every pending outbox batch of a sink (or, with a stream, of one stream). */
  outboxPending: (sink: string, stream?: string) =>
    (stream === undefined ? ["outbox", sink] : ["outbox", sink, stream]) as readonly string[],
};

/** A key as built by `keys`. */
export type Key = readonly Deno.KvKeyPart[];
