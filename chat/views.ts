/** @module The API's `Message` and room shapes, built from stored records. Pure. */
import { activeMemberIds, directPeer, memberOf, readAtByOthers, unreadCount } from "../actors/room_head.ts";
import {
  type MessageExtra,
  messageExtras,
  type Presence,
  type Profile,
  type Role,
  type RoomState,
  type StoredMessage,
} from "../storage/records.ts";

/** A reaction as clients see it. */
export interface ReactionView {
  emoji: string;
  count: number;
  userIds: string[];
}

/** The API's `Message`. */
export interface MessageView extends Pick<StoredMessage, MessageExtra> {
  id: string;
  roomId: string;
  seq: number;
  senderId: string;
  receiverId?: string;
  sender: Profile;
  content: string;
  type: StoredMessage["type"];
  reactions: ReactionView[];
  isDelivered: boolean;
  deliveredAt: string;
  isRead: boolean;
  readAt?: string;
  isEdited: boolean;
  editedAt?: string;
  createdAt: string;
}

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

/** Shapes a stored message for clients. Stored rows are stored on the server; delivered means that. */
export function messageView(message: StoredMessage, receipt: Receipt): MessageView {
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

/** A room member as room lists show them. */
export interface ParticipantView extends Profile {
  role: Role;
  online: boolean;
}

/** A room as `GET /api/chat/rooms` shows it to one user. */
export interface RoomView {
  id: string;
  type: RoomState["type"];
  name: string;
  avatar: string | null;
  lastMessage: string | null;
  lastMessageId: string | null;
  lastMessageSenderId: string | null;
  lastMessageAt: string | null;
  lastSeq: number;
  unreadCount: number;
  archived: boolean;
  participants: ParticipantView[];
  createdAt: string;
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
