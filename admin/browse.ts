/**
 * @module The console's read-only browser: a user, a room (members, roles,
 * read positions, unread counts), a room's latest messages, one message with
 * its versions. Only what operators need to answer "what happened": no tokens,
 * no push subscription ids, no attachment URLs (they may be signed).
 */
import { isActive, unreadCount } from "../actors/room_head.ts";
import { keys } from "../storage/keys.ts";
import { parseMessageId } from "../storage/ids.ts";
import type { MessageVersion, RoomState, StoredMessage } from "../storage/records.ts";
import { listActiveRoomIds, readHead, readHeads, readUnreadTotal } from "../storage/room_reads.ts";
import type { UserStore } from "../storage/users.ts";

/** Rooms shown with a user at most. */
const USER_ROOMS = 50;

const iso = (
  ms: number | null | undefined,
) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** A user as the console shows them, with their latest active rooms; null when unknown. */
export async function inspectUser(kv: Deno.Kv, users: UserStore, userId: string) {
  const user = await users.get(userId);
  if (!user) return null;
  const [presence, unreadTotal, roomIds] = await Promise.all([
    users.presence([userId]),
    readUnreadTotal(kv, userId),
    listActiveRoomIds(kv, userId, USER_ROOMS),
  ]);
  const heads = await readHeads(kv, roomIds);
  const online = presence.get(userId);
  return {
    id: user.id,
    name: user.name,
    avatar: user.avatar,
    createdAt: iso(user.createdAt)!,
    updatedAt: iso(user.updatedAt)!,
    online: online?.online ?? false,
    lastSeenAt: iso(online?.lastSeenAt),
    unreadTotal,
    rooms: heads.map((room) => ({
      id: room.id,
      type: room.type,
      name: room.name,
      role: room.members.get(userId)?.role ?? null,
      unreadCount: unreadCount(room, userId),
      lastActivityAt: iso(room.lastActivityAt)!,
    })),
  };
}

/** A room's head as the console shows it; null when there is no such room. */
export async function inspectRoom(kv: Deno.Kv, roomId: string) {
  const { value: room } = await readHead(kv, roomId);
  return room ? roomView(room) : null;
}

function roomView(room: RoomState) {
  return {
    id: room.id,
    type: room.type,
    name: room.name,
    createdAt: iso(room.createdAt)!,
    createdBy: room.createdBy,
    lastSeq: room.lastSeq,
    lastActivityAt: iso(room.lastActivityAt)!,
    lastMessage: room.lastMessage
      ? { ...room.lastMessage, createdAt: iso(room.lastMessage.createdAt)! }
      : null,
    members: [...room.members].map(([userId, m]) => ({
      userId,
      role: m.role,
      active: isActive(m),
      joinedAt: iso(m.joinedAt)!,
      readSeq: m.readSeq,
      readAt: iso(m.readAt),
      unreadCount: isActive(m) ? unreadCount(room, userId) : 0,
      leftSeq: m.leftSeq ?? null,
      archived: m.archived,
    })),
  };
}

/** A message row as the console shows it: deleted ones too, attachments by name only. */
function messageView(m: StoredMessage) {
  return {
    id: m.id,
    roomId: m.roomId,
    seq: m.seq,
    senderId: m.senderId,
    senderName: m.sender.name,
    type: m.type,
    content: m.content,
    attachment: m.attachmentType || m.attachmentName
      ? { type: m.attachmentType ?? null, name: m.attachmentName ?? null, size: m.attachmentSize ?? null }
      : null,
    replyToId: m.replyToId ?? null,
    reactions: Object.fromEntries([...m.reactions].map(([emoji, ids]) => [emoji, ids.length])),
    createdAt: iso(m.createdAt)!,
    editedAt: iso(m.editedAt),
    editCount: m.editCount ?? 0,
    deletedAt: iso(m.deletedAt),
  };
}

/** The room's messages below `beforeSeq` (default: all), newest first, deleted ones included. */
export async function listRoomMessages(
  kv: Deno.Kv,
  roomId: string,
  options: { beforeSeq?: number; limit: number },
) {
  const end = keys.message(roomId, options.beforeSeq ?? Number.MAX_SAFE_INTEGER);
  const selector = { start: keys.message(roomId, 0), end };
  const out: ReturnType<typeof messageView>[] = [];
  for await (const { value } of kv.list<StoredMessage>(selector, { reverse: true, limit: options.limit })) {
    out.push(messageView(value));
  }
  return out;
}

/** One message and its earlier versions (oldest first); null when the id names no stored message. */
export async function inspectMessage(kv: Deno.Kv, messageId: string) {
  const ref = parseMessageId(messageId);
  if (!ref) return null;
  const row = await kv.get<StoredMessage>(keys.message(ref.roomId, ref.seq));
  if (!row.value) return null;
  const versions: MessageVersion[] = [];
  for await (
    const { value } of kv.list<MessageVersion>({ prefix: keys.messageVersions(ref.roomId, ref.seq) })
  ) {
    versions.push(value);
  }
  return {
    message: messageView(row.value),
    versions: versions.map((v) => ({
      version: v.version,
      content: v.content,
      writtenAt: iso(v.writtenAt)!,
      replacedAt: iso(v.replacedAt)!,
    })),
  };
}
