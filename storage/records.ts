/**
 * @module The shapes the app stores in Deno KV. Times are epoch milliseconds.
 * Changing one of them is a data migration.
 */

/** A user as upserted from token claims or provisioned by an admin. */
export interface UserRecord {
  id: string;
  name: string;
  avatar: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Whether a user is connected, as reported by the realtime service. */
export interface Presence {
  online: boolean;
  lastSeenAt: number | null;
}

/** The public face of a user inside messages and participant lists. */
export interface Profile {
  id: string;
  name: string;
  avatar: string | null;
}

export type RoomType = "DIRECT" | "GROUP";
export type Role = "owner" | "admin" | "member";

/** One member's standing in a room, kept in the room head. */
export interface Member {
  role: Role;
  joinedAt: number;
  /** Highest seq this member has read; only ever moves forward. */
  readSeq: number;
  /** When `readSeq` last moved. */
  readAt: number | null;
  /** Set once the member left or was removed: history stays visible up to this seq. */
  leftSeq?: number;
  archived: boolean;
}

/** The latest visible message of a room, shown in room lists. */
export interface MessagePreview {
  id: string;
  seq: number;
  senderId: string;
  /** At most 100 characters, or a label such as "📷 Photo" for attachments. */
  text: string;
  createdAt: number;
}

/**
 * The room head: the one record every room command reads and commits under a
 * versionstamp check. Messages live in their own rows; the head stays small.
 */
export interface RoomState {
  id: string;
  type: RoomType;
  /** Group name; empty for direct rooms (their name is the other member's). */
  name: string;
  avatar: string | null;
  createdAt: number;
  createdBy: string;
  /** Seq of the newest message; 0 before the first one. */
  lastSeq: number;
  /** Orders this room's outbox batches: one per commit that produced events. */
  outboxSeq: number;
  /** Sort key of the room in its members' room lists. */
  lastActivityAt: number;
  lastMessage: MessagePreview | null;
  /** By user id. A Map, not an object: ids such as "constructor" must not reach Object.prototype. */
  members: Map<string, Member>;
  /**
   * Seqs of deleted messages that some active member has not read yet, ascending.
   * Unread counts leave them out; entries at or below every read position are pruned.
   */
  deletedUnread: number[];
  /** A group created with a `clientGroupId`: what a retry must match to get this group back. */
  creation?: { clientGroupId: string; fingerprint: string };
}

export type MessageType = "text" | "image" | "file";

/** The optional parts of a message that the client chooses and the API shows as given. */
export const MESSAGE_EXTRAS = [
  "attachmentUrl",
  "attachmentType",
  "attachmentName",
  "attachmentSize",
  "replyToId",
  "metadata",
  "clientMessageId",
] as const;

/** One of `MESSAGE_EXTRAS`. */
export type MessageExtra = typeof MESSAGE_EXTRAS[number];

/** The extras that `source` has, and no others (so that absent ones stay absent). */
export function messageExtras(
  source: Partial<Pick<StoredMessage, MessageExtra>>,
): Partial<Pick<StoredMessage, MessageExtra>> {
  const out: Partial<Pick<StoredMessage, MessageExtra>> = {};
  for (const name of MESSAGE_EXTRAS) {
    if (source[name] !== undefined) (out as Record<string, unknown>)[name] = source[name];
  }
  return out;
}

/** One message row, keyed by room and seq. */
export interface StoredMessage {
  id: string;
  roomId: string;
  seq: number;
  senderId: string;
  /** The sender's profile when the message was sent. */
  sender: Profile;
  content: string;
  type: MessageType;
  attachmentUrl?: string;
  attachmentType?: string;
  attachmentName?: string;
  attachmentSize?: number;
  replyToId?: string;
  metadata?: Record<string, unknown>;
  /**
   * The upload the attachment is (then `attachmentUrl` is not stored: views sign a fresh link),
   * with the image's pixel size when it is a PNG, JPEG, GIF or WebP.
   */
  upload?: AttachedUpload;
  /** Emoji → ids of the users who reacted, in reaction order. */
  reactions: Map<string, string[]>;
  clientMessageId?: string;
  createdAt: number;
  editedAt?: number;
  /** How many times the content was edited; versions `0..editCount-1` are kept as `MessageVersion` rows. */
  editCount?: number;
  deletedAt?: number;
  deletedBy?: string;
}

/** An upload as the message holding it keeps it. */
export interface AttachedUpload {
  id: string;
  width?: number;
  height?: number;
}

/** Where an upload's bytes are: Deno KV (chunk rows) or the configured S3 bucket. */
export type UploadStoreKind = "kv" | "s3";

/**
 * An attachment upload, from `POST /api/chat/uploads` until the sweep removes
 * it (never attached) or for as long as the message holding it exists.
 */
export interface UploadRecord {
  id: string;
  roomId: string;
  ownerId: string;
  name: string;
  contentType: string;
  /** Declared at creation; the stored bytes must be exactly this many. */
  size: number;
  store: UploadStoreKind;
  createdAt: number;
  /** When the sweep removes the upload unless a message holds it (`keys.uploadSweep`). */
  sweepAt: number;
  /** Set by the manifest commit once every byte is stored and checked. */
  complete?: UploadManifest;
  /** The message holding it, set in that message's commit. */
  messageId?: string;
}

/** What the manifest commit records about an upload's stored bytes. */
export interface UploadManifest {
  /** Hex SHA-256 of the bytes (KV store; S3 objects are checked by size). */
  sha256?: string;
  /** The PUT whose chunks hold the bytes (KV store). */
  putId?: string;
  /** How many chunks hold the bytes (KV store). */
  chunks?: number;
  width?: number;
  height?: number;
  completedAt: number;
}

/** A previous content of an edited message, kept when it was replaced. */
export interface MessageVersion {
  roomId: string;
  seq: number;
  /** 0 is the original content, 1 the first edit, … */
  version: number;
  content: string;
  /** When this content was written (the message's `createdAt` for version 0). */
  writtenAt: number;
  /** When the next edit replaced it. */
  replacedAt: number;
}

/** Durable facts of a commit, forwarded afterwards through the outbox. */
export type RoomEvent =
  | { type: "room.created"; roomId: string; memberIds: string[] }
  | {
    type: "message.created";
    message: StoredMessage;
    /** The other member of a direct room. */
    receiverId?: string;
    /** Each other active member's unread count right after this message. */
    unread: Record<string, number>;
  }
  | {
    type: "message.read";
    roomId: string;
    messageId: string;
    seq: number;
    readBy: string;
    readAt: number;
    unreadCount: number;
  }
  | {
    type: "message.updated";
    roomId: string;
    seq: number;
    messageId: string;
    senderId: string;
    content: string;
    editedAt: number;
  }
  | {
    type: "message.deleted";
    roomId: string;
    seq: number;
    messageId: string;
    deletedBy: string;
    deletedAt: number;
    /** The unread count of each active member whose count the delete lowered. */
    unread: Record<string, number>;
  }
  | {
    type: "reaction.updated";
    roomId: string;
    seq: number;
    messageId: string;
    userId: string;
    emoji: string;
    added: boolean;
    /** Everyone who now reacts with `emoji`, in reaction order. */
    userIds: string[];
  }
  /** Membership and room events carry the room's `lastSeq` as `seq`, and its active members. */
  | {
    type: "member.added";
    roomId: string;
    seq: number;
    userIds: string[];
    addedBy: string;
    memberIds: string[];
  }
  | {
    type: "member.removed";
    roomId: string;
    seq: number;
    userId: string;
    removedBy: string;
    /** True when the member left on their own. */
    left: boolean;
    memberIds: string[];
  }
  | {
    type: "room.updated";
    roomId: string;
    seq: number;
    updatedBy: string;
    name?: string;
    avatar?: string | null;
    /** Members whose role changed, with their new role. */
    roles?: Record<string, Role>;
    memberIds: string[];
  }
  | { type: "room.archived"; roomId: string; seq: number; userId: string; archived: boolean };

/** A user's notification preferences; a user without a record has the defaults. */
export interface Preferences {
  enableAllPush: boolean;
  enableAllInApp: boolean;
  /** A OneSignal subscription id to target instead of the user's external id. */
  oneSignalPlayerId: string | null;
  /** Rooms whose messages send no push to this user. */
  mutedRoomIds: string[];
}

/** `follower follows followee`: stored under both `keys.follow` and `keys.follower`. */
export interface FollowEdge {
  createdAt: number;
}

/** `blocker blocked blocked`, stored under `keys.block`. */
export interface BlockRecord {
  createdAt: number;
}

/**
 * A user's notification feed head. Every commit that adds a notification or
 * marks some read checks it, so `unread` is exact.
 */
export interface NotificationHead {
  /** Seq of the newest notification, 0 before the first; also orders the user's outbox stream. */
  lastSeq: number;
  /** How many notifications are unread: those above `readAllSeq` whose `isRead` is false. */
  unread: number;
  /** Every notification with a seq at or below this one is read ("mark all read"). */
  readAllSeq: number;
}

/** One notification row, keyed by user and seq. */
export interface StoredNotification {
  id: string;
  seq: number;
  /** What happened, e.g. `"follow"`, `"group.added"`. */
  type: string;
  title: string;
  body: string;
  /** Where a client goes when it is opened, e.g. `/users/alice`. */
  link: string | null;
  metadata: Record<string, unknown>;
  /** Read one by one; `NotificationHead.readAllSeq` also marks it read. */
  isRead: boolean;
  createdAt: number;
}
