/**
 * @module Chat use cases behind the HTTP routes: each resolves ids, checks what
 * the caller may see, then runs a room command or a bounded read.
 */
import { memberOf, unreadCount } from "../actors/room_head.ts";
import type { RoomActors } from "../actors/room_actor.ts";
import type { SendInput } from "../actors/commands/send.ts";
import { HttpError } from "../http_error.ts";
import { directRoomId, groupRoomId, newGroupRoomId, parseMessageId } from "../storage/ids.ts";
import type { Profile, Role, RoomState } from "../storage/records.ts";
import {
  listMessages,
  listMessageVersions,
  listUserRoomIds,
  readHead,
  readHeads,
  readMessage,
  readUnreadTotal,
  type RoomListPosition,
} from "../storage/room_reads.ts";
import { toProfile, type UserStore } from "../storage/users.ts";
import type { BackgroundIndexer } from "../search/background_indexer.ts";
import {
  type AttachmentLinks,
  type MessageVersionView,
  messageVersionView,
  type MessageView,
  messageView,
  receiptOf,
  type RoomView,
  roomView,
} from "../api/views.ts";
import { decodeCursor, encodeCursor } from "../api/cursor.ts";

/** What the chat use cases work with. */
export interface ChatDeps {
  kv: Deno.Kv;
  actors: RoomActors;
  users: UserStore;
  /** Catches up, in the background, a room a search found behind (commits schedule their own rooms). */
  indexer: Pick<BackgroundIndexer, "schedule">;
  /** Signs the links of uploaded attachments in every message shown. */
  links: AttachmentLinks;
  /** Confirms an upload whose bytes went straight to the store (S3) before a send attaches it. */
  uploads: { confirm(uploadId: string, userId: string): Promise<void> };
}

/** Where a message goes: a direct conversation with a user, or an existing room. */
export type Destination = { receiverId: string } | { roomId: string };

/**
 * Stores a message (idempotently when it carries a `clientMessageId`) and
 * returns it; direct rooms are created by their first message.
 *
 * @throws {HttpError} 400 self-message, 404 unknown receiver or room, 403 non-member or a block
 *   between the two users of a direct room, 429 rate limit.
 */
export async function sendMessage(
  deps: ChatDeps,
  sender: Profile,
  to: Destination,
  input: SendInput,
): Promise<MessageView> {
  const { roomId, peer } = "receiverId" in to
    ? await resolveDirect(deps, sender, to.receiverId)
    : { roomId: to.roomId, peer: undefined };
  if (input.uploadId !== undefined) await deps.uploads.confirm(input.uploadId, sender.id);
  const result = await deps.actors.dispatch(roomId, { kind: "send", sender, input, peer });
  return messageView(result.message, { receiverId: result.receiverId, readAt: result.readAt }, deps.links);
}

/**
 * The direct room between the caller and `receiverId`, created when missing.
 *
 * @throws {HttpError} 400 for oneself, 404 for an unknown receiver, 403 when either blocked the other.
 */
export async function startDirect(deps: ChatDeps, user: Profile, receiverId: string): Promise<string> {
  const { roomId, peer } = await resolveDirect(deps, user, receiverId);
  return (await deps.actors.dispatch(roomId, { kind: "openDirect", user, peer })).roomId;
}

/**
 * Creates a group with the caller as owner. With `clientGroupId`, a retry
 * returns the group the first attempt created and creates nothing.
 *
 * @throws {HttpError} 404 when a member does not exist, 400 when the group is too large, 403 when a
 *   member blocked the caller, 409 when `clientGroupId` was used for a different group.
 */
export async function createGroup(
  deps: ChatDeps,
  creator: Profile,
  group: { name: string; memberIds: string[]; avatar?: string | null; clientGroupId?: string },
): Promise<string> {
  const profiles = await deps.users.profiles(group.memberIds);
  const missing = group.memberIds.find((id) => !profiles.has(id));
  if (missing !== undefined) throw new HttpError(404, `User not found: ${missing}`);
  const roomId = group.clientGroupId === undefined
    ? newGroupRoomId()
    : groupRoomId(creator.id, group.clientGroupId);
  await deps.actors.dispatch(roomId, {
    kind: "createGroup",
    creator,
    name: group.name,
    avatar: group.avatar ?? null,
    memberIds: group.memberIds,
    ...(group.clientGroupId !== undefined ? { clientGroupId: group.clientGroupId } : {}),
  });
  return roomId;
}

/**
 * Moves the caller's read position forward: to the newest of `messageIds`, or
 * to the room's last message. Returns the caller's unread count in the room.
 *
 * @throws {HttpError} 400 when a message id is not of this room, 403, 404.
 */
export async function markRead(
  deps: ChatDeps,
  user: Profile,
  request: { roomId: string; messageIds?: string[] },
): Promise<number> {
  let upToSeq: number | undefined;
  for (const id of request.messageIds ?? []) {
    const ref = parseMessageId(id);
    if (ref?.roomId !== request.roomId) {
      throw new HttpError(400, `messageIds: ${id} is not a message of this room`);
    }
    upToSeq = Math.max(upToSeq ?? 0, ref.seq);
  }
  const result = await deps.actors.dispatch(request.roomId, { kind: "read", userId: user.id, upToSeq });
  return result.unreadCount;
}

/** A page of the caller's rooms, newest activity first, with their unread total. */
export async function listRooms(
  deps: ChatDeps,
  user: Profile,
  options: { limit: number; cursor?: string; archived: boolean },
): Promise<{ rooms: RoomView[]; totalUnread: number; nextCursor?: string }> {
  const after = options.cursor === undefined ? undefined : decodeRoomCursor(options.cursor);
  const [page, totalUnread] = await Promise.all([
    listUserRoomIds(deps.kv, user.id, { archived: options.archived, limit: options.limit, after }),
    readUnreadTotal(deps.kv, user.id),
  ]);
  const heads = await readHeads(deps.kv, page.roomIds);
  const memberIds = heads.flatMap((h) => [...h.members.keys()]);
  const [profiles, presence] = await Promise.all([
    deps.users.profiles(memberIds),
    deps.users.presence(memberIds),
  ]);
  return {
    rooms: heads.map((head) => roomView(head, user.id, profiles, presence)),
    totalUnread,
    ...(page.next ? { nextCursor: encodeRoomCursor(page.next) } : {}),
  };
}

/** Which page of messages to read. */
export type MessagePage =
  | { limit: number }
  | { limit: number; beforeId: string }
  | { limit: number; afterSeq: number };

/**
 * A page of a room's messages: the newest (which also marks the room read),
 * older than `beforeId`, or after `afterSeq` oldest first. Members who left see
 * the history up to their leave.
 *
 * @throws {HttpError} 404 unknown room or never a member, 400 a `beforeId` of another room.
 */
export async function listRoomMessages(
  deps: ChatDeps,
  user: Profile,
  roomId: string,
  page: MessagePage,
): Promise<{ messages: MessageView[]; hasMore: boolean }> {
  const head = await readMemberHead(deps, user.id, roomId);
  const member = memberOf(head, user.id)!;
  const lastVisible = member.leftSeq ?? head.lastSeq;
  let range = { fromSeq: 1, toSeq: lastVisible, newestFirst: true, limit: page.limit };
  if ("beforeId" in page) {
    const ref = parseMessageId(page.beforeId);
    if (ref?.roomId !== roomId) throw new HttpError(400, "beforeId: not a message of this room");
    range = { ...range, toSeq: Math.min(lastVisible, ref.seq - 1) };
  } else if ("afterSeq" in page) {
    range = { ...range, fromSeq: page.afterSeq + 1, newestFirst: false };
  }
  const marksRead = !("beforeId" in page) && !("afterSeq" in page) && unreadCount(head, user.id) > 0;
  const [{ messages, hasMore }] = await Promise.all([
    listMessages(deps.kv, roomId, range),
    // Up to the newest message this page can show: one that arrives meanwhile stays unread.
    marksRead
      ? deps.actors.dispatch(roomId, { kind: "read", userId: user.id, upToSeq: head.lastSeq })
      : undefined,
  ]);
  // Receipts as they stand once this page's own read is applied.
  const seen = marksRead ? withReadUpTo(head, user.id, head.lastSeq, Date.now()) : head;
  return { messages: messages.map((m) => messageView(m, receiptOf(seen, m), deps.links)), hasMore };
}

/** A copy of the head with the member's read position moved to `seq`. */
function withReadUpTo(head: RoomState, userId: string, seq: number, now: number): RoomState {
  const member = memberOf(head, userId)!;
  return { ...head, members: new Map(head.members).set(userId, { ...member, readSeq: seq, readAt: now }) };
}

/**
 * The room's head when `userId` is or was a member of it. A room they never
 * belonged to answers exactly like one that does not exist.
 *
 * @throws {HttpError} 404.
 */
async function readMemberHead(deps: ChatDeps, userId: string, roomId: string): Promise<RoomState> {
  const head = (await readHead(deps.kv, roomId)).value;
  if (head === null || memberOf(head, userId) === undefined) throw new HttpError(404, "Room not found");
  return head;
}

async function resolveDirect(
  deps: ChatDeps,
  user: Profile,
  receiverId: string,
): Promise<{ roomId: string; peer: Profile }> {
  if (receiverId === user.id) throw new HttpError(400, "receiverId: cannot message yourself");
  const receiver = await deps.users.get(receiverId);
  if (receiver === null) throw new HttpError(404, "Receiver not found");
  return { roomId: directRoomId(user.id, receiverId), peer: toProfile(receiver) };
}

function encodeRoomCursor(position: RoomListPosition): string {
  return encodeCursor([position.lastActivityAt, position.roomId]);
}

function decodeRoomCursor(cursor: string): RoomListPosition {
  return decodeCursor(
    cursor,
    ([lastActivityAt, roomId]) =>
      Number.isSafeInteger(lastActivityAt) && typeof roomId === "string"
        ? { lastActivityAt: lastActivityAt as number, roomId }
        : null,
  );
}

/**
 * A message as it is now and the texts it had before, newest first: for the
 * room's members, and for members who left when they could see the message.
 *
 * @throws {HttpError} 404 unknown or deleted message, a room the caller was never in, or a message
 *   sent after the caller left.
 */
export async function messageHistory(
  deps: ChatDeps,
  user: Profile,
  messageId: string,
): Promise<{ message: MessageView; versions: MessageVersionView[] }> {
  const { roomId, seq } = messageRef(messageId);
  const head = await readMemberHead(deps, user.id, roomId);
  const lastVisible = memberOf(head, user.id)!.leftSeq ?? head.lastSeq;
  const message = seq <= lastVisible ? await readMessage(deps.kv, roomId, seq) : null;
  if (message === null || message.deletedAt !== undefined) throw new HttpError(404, "Message not found");
  // Listed after the row, so every version it counts is there; an edit since then is left for later.
  const versions = (await listMessageVersions(deps.kv, roomId, seq))
    .filter((v) => v.version < (message.editCount ?? 0));
  return {
    message: messageView(message, receiptOf(head, message), deps.links),
    versions: versions.map(messageVersionView),
  };
}

/**
 * Replaces the caller's message text; the previous text is kept as a version.
 *
 * @throws {HttpError} 404 unknown or deleted message, 403 not the sender or not an active member, 400 empty.
 */
export async function editMessage(
  deps: ChatDeps,
  user: Profile,
  request: { messageId: string; content: string },
): Promise<MessageView> {
  const { roomId, seq } = messageRef(request.messageId);
  const result = await deps.actors.dispatch(roomId, {
    kind: "edit",
    userId: user.id,
    seq,
    content: request.content,
  });
  return messageView(result.message, result, deps.links);
}

/**
 * Soft-deletes a message: the sender may, and in groups the owner and admins.
 * Deleting a deleted message again succeeds and changes nothing.
 *
 * @throws {HttpError} 404 unknown message, 403 not allowed.
 */
export async function deleteMessage(
  deps: ChatDeps,
  user: Profile,
  messageId: string,
): Promise<{ messageId: string; roomId: string; seq: number }> {
  const { roomId, seq } = messageRef(messageId);
  const result = await deps.actors.dispatch(roomId, { kind: "delete", userId: user.id, seq });
  return { messageId: result.messageId, roomId, seq };
}

/**
 * Adds the caller's `emoji` reaction, or removes it when present.
 *
 * @throws {HttpError} 404 unknown or deleted message, 403 not an active member, 400 too many reactions.
 */
export async function toggleReaction(
  deps: ChatDeps,
  user: Profile,
  request: { messageId: string; emoji: string },
): Promise<{ message: MessageView; added: boolean }> {
  const { roomId, seq } = messageRef(request.messageId);
  const result = await deps.actors.dispatch(roomId, {
    kind: "react",
    userId: user.id,
    seq,
    emoji: request.emoji,
  });
  return { message: messageView(result.message, result, deps.links), added: result.added };
}

/**
 * Adds users to a group (owner or admin); former members come back with
 * nothing unread. Returns who was added.
 *
 * @throws {HttpError} 404 unknown room or user, 403 not owner/admin, 400 direct room or too many members.
 */
export async function addMembers(
  deps: ChatDeps,
  user: Profile,
  request: { roomId: string; userIds: string[] },
): Promise<string[]> {
  const profiles = await deps.users.profiles(request.userIds);
  const missing = request.userIds.find((id) => !profiles.has(id));
  if (missing !== undefined) throw new HttpError(404, `User not found: ${missing}`);
  const cmd = { kind: "addMembers" as const, userId: user.id, memberIds: request.userIds };
  const { added } = await deps.actors.dispatch(request.roomId, cmd);
  return added;
}

/**
 * Removes a member (owner: anyone; admin: members), or lets the caller leave.
 * When the owner leaves, the longest-standing admin (else member) becomes owner.
 *
 * @throws {HttpError} 404 unknown room or member, 403 not allowed, 400 direct room.
 */
export async function removeMember(
  deps: ChatDeps,
  user: Profile,
  request: { roomId: string; userId: string },
): Promise<{ left: boolean; ownerId?: string }> {
  const cmd = { kind: "removeMember" as const, userId: user.id, memberId: request.userId };
  return await deps.actors.dispatch(request.roomId, cmd);
}

/**
 * Renames a group or changes its avatar (owner or admin), and returns the room.
 *
 * @throws {HttpError} 404 unknown room, 403 not owner/admin, 400 direct room.
 */
export async function updateRoom(
  deps: ChatDeps,
  user: Profile,
  request: { roomId: string; name?: string; avatar?: string | null },
): Promise<RoomView> {
  const { roomId, ...changes } = request;
  await deps.actors.dispatch(roomId, { kind: "updateRoom", userId: user.id, ...changes });
  return await roomOf(deps, user, roomId);
}

/**
 * Sets a member's role (owner only). Making someone owner hands ownership
 * over: the previous owner becomes an admin. Returns the roles that changed.
 *
 * @throws {HttpError} 404 unknown room or member, 403 not the owner, 400 own role or direct room.
 */
export async function setMemberRole(
  deps: ChatDeps,
  user: Profile,
  request: { roomId: string; userId: string; role: Role },
): Promise<Record<string, Role>> {
  const cmd = { kind: "setRole" as const, userId: user.id, memberId: request.userId, role: request.role };
  return (await deps.actors.dispatch(request.roomId, cmd)).roles;
}

/**
 * Archives or unarchives a room for the caller only.
 *
 * @throws {HttpError} 404 unknown room, 403 not an active member.
 */
export async function archiveRoom(
  deps: ChatDeps,
  user: Profile,
  request: { roomId: string; archived: boolean },
): Promise<boolean> {
  const cmd = { kind: "archive" as const, userId: user.id, archived: request.archived };
  return (await deps.actors.dispatch(request.roomId, cmd)).archived;
}

/** The room as `userId` sees it in room lists. */
async function roomOf(deps: ChatDeps, user: Profile, roomId: string): Promise<RoomView> {
  const head = await readMemberHead(deps, user.id, roomId);
  const memberIds = [...head.members.keys()];
  const [profiles, presence] = await Promise.all([
    deps.users.profiles(memberIds),
    deps.users.presence(memberIds),
  ]);
  return roomView(head, user.id, profiles, presence);
}

/** The room and seq a message id names. */
function messageRef(messageId: string): { roomId: string; seq: number } {
  const ref = parseMessageId(messageId);
  if (ref === null) throw new HttpError(404, "Message not found");
  return ref;
}
