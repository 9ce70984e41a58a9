/**
 * @module The API's `Message`, `Room` and their parts: the zod schemas that
 * document them (OpenAPI) and the TypeScript types inferred from those, and the
 * functions that build them from stored records. The HTTP routes, the chat use
 * cases and the realtime payloads all use these. Pure.
 */
import { z } from "@hono/zod-openapi";
import { activeMemberIds, directPeer, memberOf, readAtByOthers, unreadCount } from "../actors/room_head.ts";
import {
  messageExtras,
  type MessageVersion,
  type Presence,
  type Profile,
  type RoomState,
  type StoredMessage,
} from "../storage/records.ts";

/** An ISO 8601 UTC time on the wire. */
export const Iso = z.string().openapi({ format: "date-time", example: "2026-11-25T15:04:05.000Z" });

export const ProfileSchema = z.object({
  id: z.string(),
  name: z.string(),
  avatar: z.string().nullable(),
}).openapi("Profile");

export const ReactionSchema = z.object({
  emoji: z.string(),
  count: z.number().int(),
  userIds: z.array(z.string()),
}).openapi("Reaction");

export const MessageSchema = z.object({
  id: z.string(),
  roomId: z.string(),
  seq: z.number().int().openapi({ description: "The room's own sequence number: 1, 2, 3, … no gaps" }),
  senderId: z.string(),
  receiverId: z.string().optional(),
  sender: ProfileSchema,
  content: z.string(),
  type: z.enum(["text", "image", "file"]),
  attachmentUrl: z.string().optional(),
  attachmentType: z.string().optional(),
  attachmentName: z.string().optional(),
  attachmentSize: z.number().int().optional(),
  attachmentWidth: z.number().int().optional().openapi({
    description: "Pixel width of an uploaded PNG, JPEG, GIF or WebP image, read from its bytes",
  }),
  attachmentHeight: z.number().int().optional().openapi({
    description: "Pixel height of an uploaded PNG, JPEG, GIF or WebP image, read from its bytes",
  }),
  replyToId: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  reactions: z.array(ReactionSchema),
  clientMessageId: z.string().optional(),
  isDelivered: z.boolean(),
  deliveredAt: Iso,
  isRead: z.boolean().openapi({
    description: "Direct room: the other member read it; group: every other member did",
  }),
  readAt: Iso.optional(),
  isEdited: z.boolean(),
  editedAt: Iso.optional(),
  createdAt: Iso,
}).openapi("Message");

export const MessageVersionSchema = z.object({
  version: z.number().int().openapi({ description: "0 is the text as sent, 1 the first edit, …" }),
  content: z.string(),
  writtenAt: Iso.openapi({ description: "When this text was sent or written by an edit" }),
  replacedAt: Iso.openapi({ description: "When the next edit replaced it" }),
}).openapi("MessageVersion");

export const ParticipantSchema = ProfileSchema.extend({
  role: z.enum(["owner", "admin", "member"]),
  online: z.boolean(),
}).openapi("Participant");

export const RoomSchema = z.object({
  id: z.string(),
  type: z.enum(["DIRECT", "GROUP"]),
  name: z.string(),
  avatar: z.string().nullable(),
  lastMessage: z.string().nullable().openapi({ description: "At most 100 characters" }),
  lastMessageId: z.string().nullable(),
  lastMessageSenderId: z.string().nullable(),
  lastMessageAt: Iso.nullable(),
  lastSeq: z.number().int(),
  unreadCount: z.number().int(),
  archived: z.boolean(),
  participants: z.array(ParticipantSchema),
  createdAt: Iso,
}).openapi("Room");

export const UserViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  avatar: z.string().nullable(),
  online: z.boolean(),
  lastSeenAt: Iso.nullable().openapi({ description: "When the user last connected or disconnected" }),
  followers: z.number().int(),
  following: z.number().int(),
  isFollowing: z.boolean().openapi({ description: "The caller follows this user" }),
  followsYou: z.boolean().openapi({ description: "This user follows the caller" }),
  isBlocked: z.boolean().openapi({ description: "The caller blocked this user" }),
}).openapi("UserProfile");

export const NotificationSchema = z.object({
  id: z.string(),
  type: z.string().openapi({ example: "follow" }),
  title: z.string().openapi({ example: "Alice started following you" }),
  body: z.string(),
  link: z.string().nullable().openapi({ example: "/users/alice" }),
  metadata: z.record(z.string(), z.unknown()),
  isRead: z.boolean(),
  createdAt: Iso,
}).openapi("Notification");

export const PreferencesSchema = z.object({
  enableAllPush: z.boolean(),
  enableAllInApp: z.boolean(),
  oneSignalPlayerId: z.string().nullable(),
  mutedRoomIds: z.array(z.string()),
}).openapi("Preferences");

export const MeResponse = z.object({
  success: z.literal(true),
  id: z.string(),
  name: z.string(),
  avatar: z.string().nullable(),
  online: z.boolean(),
  lastSeenAt: Iso.nullable(),
  followers: z.number().int(),
  following: z.number().int(),
  preferences: PreferencesSchema,
  unreadNotifications: z.number().int(),
  totalUnread: z.number().int().openapi({ description: "Unread messages over every active room" }),
}).openapi("Me");

/** The API's `Message`. */
export type MessageView = z.infer<typeof MessageSchema>;
/** A reaction as clients see it. */
export type ReactionView = z.infer<typeof ReactionSchema>;

export type MessageVersionView = z.infer<typeof MessageVersionSchema>;
/** A room member as room lists show them. */
export type ParticipantView = z.infer<typeof ParticipantSchema>;
/** A room as `GET /api/chat/rooms` shows it to one user. */
export type RoomView = z.infer<typeof RoomSchema>;
/** `GET /api/users/:id`: the profile, presence and follow counts, and the viewer's relation to the user. */
export type UserView = z.infer<typeof UserViewSchema>;
/** `GET /api/me`: the caller's profile with their preferences and unread totals. */
export type MeView = Omit<z.infer<typeof MeResponse>, "success">;
/** A notification as `GET /api/notifications` and the `notification` event show it. */
export type NotificationView = z.infer<typeof NotificationSchema>;

/** What a message's receipt depends on besides the message itself. */
export interface Receipt {
  receiverId?: string;
  /** When the other members had all read it; null while someone has not. */
  readAt: number | null;
}

/** The receipt of a message as the room head tells it. */
export function receiptOf(state: RoomState, message: StoredMessage): Receipt {
  return {
    receiverId: directPeer(state, message.senderId),
    readAt: readAtByOthers(state, message.senderId, message.seq),
  };
}

/** Signs the link to an uploaded attachment each time a message is shown. */
export interface AttachmentLinks {
  /** A signed, expiring link to the upload's bytes. */
  attachmentUrl(uploadId: string): string;
}

/**
 * Shapes a stored message for clients. Stored rows are stored on the server; delivered means that.
 * An uploaded attachment gets a freshly signed `attachmentUrl` from `links`.
 */
export function messageView(message: StoredMessage, receipt: Receipt, links: AttachmentLinks): MessageView {
  const upload = message.upload;
  return {
    id: message.id,
    roomId: message.roomId,
    seq: message.seq,
    senderId: message.senderId,
    ...(receipt.receiverId !== undefined ? { receiverId: receipt.receiverId } : {}),
    sender: message.sender,
    content: message.content,
    type: message.type,
    ...messageExtras(message),
    ...(upload ? { attachmentUrl: links.attachmentUrl(upload.id) } : {}),
    ...(upload?.width !== undefined
      ? { attachmentWidth: upload.width, attachmentHeight: upload.height }
      : {}),
    reactions: [...message.reactions].map(([emoji, userIds]) => ({
      emoji,
      count: userIds.length,
      userIds,
    })),
    isDelivered: true,
    deliveredAt: iso(message.createdAt),
    isRead: receipt.readAt !== null,
    ...(receipt.readAt !== null ? { readAt: iso(receipt.readAt) } : {}),
    isEdited: message.editedAt !== undefined,
    ...(message.editedAt !== undefined ? { editedAt: iso(message.editedAt) } : {}),
    createdAt: iso(message.createdAt),
  };
}

/** Shapes a kept version of an edited message for clients. */
export function messageVersionView(version: MessageVersion): MessageVersionView {
  return {
    version: version.version,
    content: version.content,
    writtenAt: iso(version.writtenAt),
    replacedAt: iso(version.replacedAt),
  };
}

/**
 * Shapes a room for `viewerId`: a direct room is named after the other member.
 * Members without a profile show their id as their name.
 */
export function roomView(
  state: RoomState,
  viewerId: string,
  profiles: Map<string, Profile>,
  presence: Map<string, Presence>,
): RoomView {
  const memberIds = activeMemberIds(state);
  const profile = (id: string): Profile => profiles.get(id) ?? { id, name: id, avatar: null };
  const other = state.type === "DIRECT" ? memberIds.find((id) => id !== viewerId) : undefined;
  return {
    id: state.id,
    type: state.type,
    name: other !== undefined ? profile(other).name : state.name,
    avatar: other !== undefined ? profile(other).avatar : state.avatar,
    lastMessage: state.lastMessage?.text ?? null,
    lastMessageId: state.lastMessage?.id ?? null,
    lastMessageSenderId: state.lastMessage?.senderId ?? null,
    lastMessageAt: state.lastMessage ? iso(state.lastMessage.createdAt) : null,
    lastSeq: state.lastSeq,
    unreadCount: unreadCount(state, viewerId),
    archived: memberOf(state, viewerId)?.archived ?? false,
    participants: memberIds.map((id) => ({
      ...profile(id),
      role: memberOf(state, id)!.role,
      online: presence.get(id)?.online ?? false,
    })),
    createdAt: iso(state.createdAt),
  };
}

/** Milliseconds since the epoch as an ISO 8601 UTC string. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
