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
  /** Prefix of the kept versions of one message, oldest first. */
  messageVersions: (roomId: string, seq: number) => ["msg_version", roomId, seq] as const,
  /** A search index entry: a word prefix of a visible message; the value is empty. */
  searchEntry: (roomId: string, term: string, createdAt: number, seq: number) =>
    ["search", roomId, term, createdAt, seq] as const,
  /** Prefix of the entries of one word prefix in a room, oldest first. */
  searchEntries: (roomId: string, term: string) => ["search", roomId, term] as const,
  /** The highest seq of a room whose messages are all indexed (`Deno.KvU64`). */
  searchMark: (roomId: string) => ["search_mark", roomId] as const,
  /** A message to re-index (edited or deleted since it was indexed); the value is empty. */
  searchTodo: (roomId: string, seq: number) => ["search_todo", roomId, seq] as const,
  /** Prefix of a room's messages to re-index. */
  searchTodos: (roomId: string) => ["search_todo", roomId] as const,
  /** Which version of an edited message the index holds the words of (absent: version 0). */
  searchIndexed: (roomId: string, seq: number) => ["search_indexed", roomId, seq] as const,
  /** Idempotency: a sender's `clientMessageId` in a room → the seq it created and its body's digest. */
  clientMessage: (roomId: string, senderId: string, clientMessageId: string) =>
    ["client_msg", roomId, senderId, clientMessageId] as const,
  /** Written by one attempt to commit a room's batch (it expires): whether that attempt happened. */
  commitReceipt: (roomId: string, attemptId: string) => ["commit", roomId, attemptId] as const,
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
  /** The user's recent request times of one kind ("send", "write"), for the rolling-minute limits. */
  rateLog: (kind: string, userId: string) => ["rate", kind, userId] as const,
  /** A setting generated once and kept (demo JWT secret, Pusher credentials). */
  setting: (name: string) => ["setting", name] as const,
  /** A pending outbox batch of one stream for one sink. */
  outbox: (sink: string, stream: string, order: number) => ["outbox", sink, stream, order] as const,
  /** Prefix of every pending outbox batch (or of a sink's, or, with a stream, of one stream's). */
  outboxPending: (sink?: string, stream?: string) =>
    (sink === undefined
      ? ["outbox"]
      : stream === undefined
      ? ["outbox", sink]
      : ["outbox", sink, stream]) as readonly string[],
  /** Which process drains a stream right now (`OutboxLease`); advisory, it expires. */
  outboxLease: (sink: string, stream: string) => ["outbox_lease", sink, stream] as const,
  /** A running watcher's heartbeat (`{until}`): its leases count only while it beats. */
  outboxOwner: (owner: string) => ["outbox_owner", owner] as const,
  /** A live embedded gateway of this host (`GatewayPeer`), renewed by its heartbeat; others publish to it. */
  gatewayPeer: (id: string) => ["gateway_peer", id] as const,
  /** Prefix of every registered gateway. */
  gatewayPeers: () => ["gateway_peer"] as const,
  /** A batch that failed its last attempt (`DeadBatch`), kept for operators to replay. */
  outboxDead: (sink: string, stream: string, order: number) => ["outbox_dead", sink, stream, order] as const,
  /** Prefix of every dead batch (or of one sink's). */
  outboxDeadAll: (sink?: string) =>
    (sink === undefined ? ["outbox_dead"] : ["outbox_dead", sink]) as readonly string[],
  /**
   * How many batches of a sink are in a state (`pending`, `retrying`, `dead`), as a `Deno.KvU64`
   * changed with `sum` in the same commits that write, retry, dead-letter or delete the rows.
   */
  outboxCount: (sink: string, state: string) => ["outbox_count", sink, state] as const,
  /**
   * How many pending or retrying batches of a sink were committed in one second (seconds since the
   * epoch), as a `Deno.KvU64` changed with `sum` in the commits that add and remove them: the first
   * non-zero entry of a sink's prefix is the second of its oldest undelivered batch.
   */
  outboxAge: (sink: string, second: number) => ["outbox_age", sink, second] as const,
  /** Prefix of a sink's entries in `outboxAge`, oldest first. */
  outboxAges: (sink: string) => ["outbox_age", sink] as const,
  /** A wake message the queue gave up on (`keysIfUndelivered`); the sweep clears it. */
  outboxLostWake: (id: string) => ["outbox_lost_wake", id] as const,
  /** Prefix of the lost wake messages. */
  outboxLostWakes: () => ["outbox_lost_wake"] as const,
  /** What OneSignal answered for one push event to one recipient (`PushOutcome`), kept for a while. */
  pushOutcome: (eventId: string, userId: string) => ["push_outcome", eventId, userId] as const,
  /**
   * Messages created in one hour (hours since the epoch) in rooms of one type (`Deno.KvU64`, `sum` in the
   * room commit that created them).
   */
  statsMessages: (hour: number, roomType: string) => ["stats_msg", hour, roomType] as const,
  /** Prefix of the hourly message counters, hour order. */
  statsMessagesAll: () => ["stats_msg"] as const,
  /** An all-time total (`Deno.KvU64`): `messages`, `rooms` or `push` by one label (room type, outcome). */
  statsTotal: (name: string, label: string) => ["stats_total", name, label] as const,
  /** Users active on one day (days since the epoch), each counted once (`Deno.KvU64`). */
  statsActive: (day: number) => ["stats_active", day] as const,
  /** Prefix of the daily active-user counters, day order. */
  statsActiveAll: () => ["stats_active"] as const,
  /** Users whose last active day is `day` (`Deno.KvU64`): every active user is in exactly one. */
  statsLastActive: (day: number) => ["stats_last_active", day] as const,
  /** Prefix of the last-active-day counters. */
  statsLastActiveAll: () => ["stats_last_active"] as const,
  /** The last day (days since the epoch) a user was active, as a number; checked when it moves. */
  statsUserDay: (userId: string) => ["stats_user_day", userId] as const,
  /** Push outcomes in one hour by outcome (`delivered`, `notDelivered`, `failed`), as `Deno.KvU64`. */
  statsPush: (hour: number, outcome: string) => ["stats_push", hour, outcome] as const,
  /** Prefix of the hourly push outcome counters, hour order. */
  statsPushAll: () => ["stats_push"] as const,
  /** The user's notification preferences (`Preferences`). */
  preferences: (userId: string) => ["prefs", userId] as const,
  /** `followerId` follows `followeeId` (`FollowEdge`); prefix `["follow", id]` lists whom id follows. */
  follow: (followerId: string, followeeId: string) => ["follow", followerId, followeeId] as const,
  /** Prefix of the users `followerId` follows, in id order. */
  following: (followerId: string) => ["follow", followerId] as const,
  /** The reverse edge of `follow`, written in the same commit: `followerId` follows `followeeId`. */
  follower: (followeeId: string, followerId: string) => ["follower", followeeId, followerId] as const,
  /** Prefix of the users following `followeeId`, in id order. */
  followers: (followeeId: string) => ["follower", followeeId] as const,
  /** How many users follow `userId` (`Deno.KvU64`), changed with `sum` in the edge's commit. */
  followersCount: (userId: string) => ["follow_count", userId, "followers"] as const,
  /** How many users `userId` follows (`Deno.KvU64`), changed with `sum` in the edge's commit. */
  followingCount: (userId: string) => ["follow_count", userId, "following"] as const,
  /** Marks that `followerId` already notified `followeeId` of a follow recently (expires). */
  followNotified: (followerId: string, followeeId: string) =>
    ["follow_notified", followerId, followeeId] as const,
  /** `blockerId` blocked `blockedId` (`BlockRecord`). */
  block: (blockerId: string, blockedId: string) => ["block", blockerId, blockedId] as const,
  /** Prefix of the users `blockerId` blocked, in id order. */
  blocks: (blockerId: string) => ["block", blockerId] as const,
  /**
   * Changes (`sum`) whenever someone blocks or unblocks `blockedId`: a commit that
   * read whether users blocked them checks this one key instead of every block row.
   */
  blockedEpoch: (blockedId: string) => ["blocked_epoch", blockedId] as const,
  /** The user's notification feed head (`NotificationHead`): last seq, unread count, read-all mark. */
  notificationHead: (userId: string) => ["notif_head", userId] as const,
  /** One notification (`StoredNotification`); numeric seq so listing returns them in order. */
  notification: (userId: string, seq: number) => ["notif", userId, seq] as const,
  /** Prefix of the user's notifications, oldest first (list with `reverse` for newest first). */
  notifications: (userId: string) => ["notif", userId] as const,
  /** Marks that the outbox batch `sourceId` already notified `userId` (expires): redeliveries write nothing. */
  notificationSource: (userId: string, sourceId: string) => ["notif_source", userId, sourceId] as const,
  /** When `actorId` last added `userId` to groups (times within the hour), for the notification cap. */
  groupAddedLog: (userId: string, actorId: string) => ["notif_cap", "group.added", userId, actorId] as const,
  /** An attachment upload (`UploadRecord`). */
  upload: (uploadId: string) => ["upload", uploadId] as const,
  /** One chunk (≤ 60 KiB of bytes) of one PUT of an upload stored in KV; numeric index, in order. */
  uploadChunk: (uploadId: string, putId: string, index: number) =>
    ["upload_chunk", uploadId, putId, index] as const,
  /** Prefix of one PUT's chunks (with `putId`), or of every PUT's chunks of an upload. */
  uploadChunks: (uploadId: string, putId?: string) =>
    (putId === undefined
      ? ["upload_chunk", uploadId]
      : ["upload_chunk", uploadId, putId]) as readonly string[],
  /** When an upload is removed unless a message holds it by then; the value is empty. */
  uploadSweep: (dueAt: number, uploadId: string) => ["upload_sweep", dueAt, uploadId] as const,
  /** Prefix of the sweep entries, oldest due first. */
  uploadSweeps: () => ["upload_sweep"] as const,
  /** The user's recent search times, for the rolling-minute search limit. */
  searchLog: (userId: string) => ["rate", "search", userId] as const,
};

/** A key as built by `keys`. */
export type Key = readonly Deno.KvKeyPart[];
