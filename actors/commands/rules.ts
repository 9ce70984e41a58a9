/**
 * @module The rules several room commands share: who may act on the room, which
 * message a seq names, the rate limit slot, blocks, sizes, and building a new
 * room. Each helper takes the batch narrowed to the facts it reads.
 */
import { createHash } from "node:crypto";
import { previewLine } from "../../common/preview.js";
import { HttpError } from "../../http_error.ts";
import { MAX_MEMBER_KEY_BYTES, MAX_MESSAGE_ROW_BYTES } from "../../limits.ts";
import { keys } from "../../storage/keys.ts";
import { keyBytes, valueBytes } from "../../storage/kv_size.ts";
import type { Member, MessagePreview, Role, RoomState, StoredMessage } from "../../storage/records.ts";
import { type RateKind, takeRateSlot } from "../rate_limit.ts";
import { activeMemberIds, directPeer, isActive, memberOf, readAtByOthers } from "../room_head.ts";
import {
  blockKey,
  type EventType,
  type FactKind,
  type Facts,
  rateLogKey,
  type StepOptions,
  type Working,
} from "./command.ts";

/** A batch narrowed to some facts, with whichever events its command declared. */
type With<K extends FactKind, E extends EventType> = Working<Pick<Facts, K>, E>;

/** A message with what its receipt needs, as edit and react resolve. */
export interface MessageResult {
  message: StoredMessage;
  receiverId?: string;
  readAt: number | null;
}

/**
 * Takes one slot of the user's `kind` limit, or refuses the command. Call it
 * once validation is over: a refused command changes nothing.
 *
 * @throws {HttpError} 429 with `Retry-After`.
 */
export function takeSlot<E extends EventType>(
  work: With<"rateLogs", E>,
  kind: RateKind,
  userId: string,
  options: StepOptions,
): void {
  const limit = kind === "send" ? options.sendLimit : options.writeLimit ?? 0;
  if (limit <= 0) return;
  const key = rateLogKey(kind, userId);
  const decision = takeRateSlot(work.facts.rateLogs.get(key) ?? [], options.now, limit);
  if (!decision.allowed) {
    const problem = kind === "send" ? "Too many messages, slow down" : "Too many changes, slow down";
    throw new HttpError(429, problem, { "Retry-After": String(decision.retryAfterSeconds) });
  }
  work.facts.rateLogs.set(key, decision.log);
  work.changedRateLogs.add(key);
}

/**
 * The room, when `userId` is an active member of it. A room they never belonged
 * to answers exactly like a room that does not exist (no existence oracle).
 *
 * @throws {HttpError} 404 never a member (or no such room), 403 a former member.
 */
export function activeRoom<E extends EventType>(work: With<never, E>, userId: string): RoomState {
  const state = work.state;
  const member = state === null ? undefined : memberOf(state, userId);
  if (state === null || member === undefined) throw new HttpError(404, "Room not found");
  if (!isActive(member)) throw new HttpError(403, "Not a member of this room");
  return state;
}

/**
 * The group, when `userId` is an active member of it; direct rooms keep their two members.
 *
 * @throws {HttpError} as `activeRoom`, and 400 for a direct room.
 */
export function groupRoom<E extends EventType>(work: With<never, E>, userId: string): RoomState {
  const state = activeRoom(work, userId);
  if (state.type !== "GROUP") throw new HttpError(400, "A direct room's members cannot change");
  return state;
}

/**
 * A message of the room, deleted or not.
 *
 * @throws {HttpError} 404 when the room has no such message.
 */
export function existingMessage<E extends EventType>(
  work: With<"messages", E>,
  state: RoomState,
  seq: number,
): StoredMessage {
  if (seq < 1 || seq > state.lastSeq) throw new HttpError(404, "Message not found");
  const message = work.facts.messages.get(seq);
  if (message === undefined) throw new TypeError(`Message ${seq} of room ${work.roomId} was not loaded`);
  if (message === null) throw new HttpError(404, "Message not found");
  return message;
}

/**
 * A message of the room that is not deleted.
 *
 * @throws {HttpError} 404 when it does not exist or was deleted.
 */
export function visibleMessage<E extends EventType>(
  work: With<"messages", E>,
  state: RoomState,
  seq: number,
): StoredMessage {
  const message = existingMessage(work, state, seq);
  if (message.deletedAt !== undefined) throw new HttpError(404, "Message not found");
  return message;
}

/** A message the batch holds for certain (an invariant, not a client error). */
export function knownMessage<E extends EventType>(work: With<"messages", E>, seq: number): StoredMessage {
  const message = work.facts.messages.get(seq);
  if (!message) throw new TypeError(`Message ${seq} of room ${work.roomId} was not loaded`);
  return message;
}

/** A message with its receipt as the head tells it. */
export function messageResult(state: RoomState, message: StoredMessage): MessageResult {
  return {
    message,
    receiverId: directPeer(state, message.senderId),
    readAt: readAtByOthers(state, message.senderId, message.seq),
  };
}

/** Writes a message row in the batch, where later commands of the batch see it too. */
export function putMessage<E extends EventType>(work: With<"messages", E>, message: StoredMessage): void {
  work.changedMessages.set(message.seq, message);
  work.facts.messages.set(message.seq, message);
}

/**
 * Refuses a message row that would pass KV's value limit.
 *
 * @throws {HttpError} 400 with `problem`.
 */
export function checkRowSize(message: StoredMessage, problem: string): void {
  if (valueBytes(message) > MAX_MESSAGE_ROW_BYTES) {
    throw new HttpError(400, problem);
  }
}

/**
 * Refuses a direct message between users when either blocked the other.
 *
 * @throws {HttpError} 403.
 */
export function assertNotBlocked<E extends EventType>(
  work: With<"blocks", E>,
  senderId: string,
  peerId: string,
): void {
  if (work.facts.blocks.get(blockKey(peerId, senderId))) {
    throw new HttpError(403, "You cannot message this user");
  }
  if (work.facts.blocks.get(blockKey(senderId, peerId))) {
    throw new HttpError(403, "Unblock this user to message them");
  }
}

/**
 * Refuses to put users into a group who blocked the one adding them.
 *
 * @throws {HttpError} 403.
 */
export function assertMayAdd<E extends EventType>(
  work: With<"blocks", E>,
  actorId: string,
  userIds: string[],
): void {
  for (const id of userIds) {
    if (work.facts.blocks.get(blockKey(id, actorId))) {
      throw new HttpError(403, `You cannot add ${id} to a group`);
    }
  }
}

/**
 * Refuses a membership whose ids would make one send's commit pass KV's 80 KiB
 * of keys (see `MAX_MEMBER_KEY_BYTES`).
 *
 * @throws {HttpError} 400.
 */
export function assertMemberKeysFit(roomId: string, memberIds: string[], field: string): void {
  const bytes = memberIds.reduce((n, id) => n + memberKeyBytes(roomId, id), 0);
  if (bytes > MAX_MEMBER_KEY_BYTES) {
    throw new HttpError(400, `${field}: these members' ids are too long together for one group`);
  }
}

/** The keys one member adds to a send's commit: the room-list entry moved (delete + set) and the unread total. */
export function memberKeyBytes(roomId: string, userId: string): number {
  return 2 * keyBytes(keys.userRoom(userId, false, 0, roomId)) + keyBytes(keys.unreadTotal(userId));
}

/** Announces a change of the group's name, avatar or roles to its members. */
export function pushRoomUpdated(
  work: Working<Pick<Facts, never>, "room.updated">,
  state: RoomState,
  updatedBy: string,
  changes: { name?: string; avatar?: string | null; roles?: Record<string, Role> },
): void {
  work.events.push({
    type: "room.updated",
    roomId: work.roomId,
    seq: state.lastSeq,
    updatedBy,
    ...changes,
    memberIds: activeMemberIds(state),
  });
}

/** Opens the direct room between the two users in the batch. */
export function createDirectRoom(
  work: Working<Pick<Facts, never>, "room.created">,
  senderId: string,
  peerId: string,
  now: number,
): RoomState {
  const members = new Map([
    [senderId, newMember("member", now, 0)],
    [peerId, newMember("member", now, 0)],
  ]);
  const state = newRoom(work.roomId, "DIRECT", senderId, now, members);
  work.state = state;
  work.events.push({ type: "room.created", roomId: work.roomId, memberIds: [senderId, peerId] });
  return state;
}

/** A room head with no message yet. */
export function newRoom(
  id: string,
  type: RoomState["type"],
  createdBy: string,
  now: number,
  members: Map<string, Member>,
): RoomState {
  return {
    id,
    type,
    name: "",
    avatar: null,
    createdAt: now,
    createdBy,
    lastSeq: 0,
    outboxSeq: 0,
    lastActivityAt: now,
    lastMessage: null,
    members,
    deletedUnread: [],
  };
}

/** A member who joins now with everything up to `readSeq` read. */
export function newMember(role: Member["role"], now: number, readSeq: number): Member {
  return { role, joinedAt: now, readSeq, readAt: null, archived: false };
}

/** The room-list preview of a message: its text, or a label for an attachment. */
export function previewOf(message: StoredMessage): MessagePreview {
  return {
    id: message.id,
    seq: message.seq,
    senderId: message.senderId,
    text: previewLine(message),
    createdAt: message.createdAt,
  };
}

/** JSON with object keys sorted at every level, so that equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) =>
      a < b ? -1 : 1
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** A short digest of a text (request fingerprints). */
export function digest(text: string): string {
  return createHash("sha256").update(text).digest("base64url").slice(0, 22);
}
