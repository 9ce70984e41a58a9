/**
 * @module The room's state transitions: pure functions from (head, loaded facts,
 * command, clock) to a new head, message rows and events. No I/O happens here.
 */
import { HttpError } from "../http_error.ts";
import { messageId, parseMessageId } from "../storage/ids.ts";
import type {
  Member,
  MessagePreview,
  MessageType,
  Profile,
  RoomEvent,
  RoomState,
  StoredMessage,
} from "../storage/records.ts";
import { takeSendSlot } from "./rate_limit.ts";
import { directPeer, isActive, pruneDeletedUnread, readAtByOthers, unreadCount } from "./room_head.ts";

/** The most members a group holds: the head (≤ 64 KiB) and one commit (≤ 1000 writes) must fit them. */
export const MAX_GROUP_MEMBERS = 200;
/** Room-list previews are cut to this many characters. */
export const PREVIEW_LENGTH = 100;

/** A message as the client asked for it, already validated at the edge. */
export interface SendInput {
  content: string;
  type: MessageType;
  attachmentUrl?: string;
  attachmentType?: string;
  attachmentName?: string;
  attachmentSize?: number;
  replyToId?: string;
  metadata?: Record<string, unknown>;
  clientMessageId?: string;
}

/** What a room can be asked to do. */
export type RoomCommand =
  | { kind: "createGroup"; creator: Profile; name: string; avatar: string | null; memberIds: string[] }
  | { kind: "openDirect"; user: Profile; peer: Profile }
  | { kind: "send"; sender: Profile; input: SendInput; peer?: Profile }
  | { kind: "read"; userId: string; upToSeq?: number };

/** What each command resolves to. */
export interface CommandResults {
  createGroup: { roomId: string };
  openDirect: { roomId: string };
  /** `readAt`: when every other member had read the message (for replays of older sends). */
  send: { message: StoredMessage; created: boolean; receiverId?: string; readAt: number | null };
  read: { unreadCount: number };
}

/** The result type of a command. */
export type ResultOf<C extends RoomCommand> = CommandResults[C["kind"]];

/** Rows read before the batch runs, under the same head versionstamp check. */
export interface Facts {
  /** Message rows by seq; null when the row does not exist. */
  messages: Map<number, StoredMessage | null>;
  /** `clientMessageKey(senderId, clientMessageId)` → the seq it created, or null. */
  clientMessages: Map<string, number | null>;
  /** Each sender's recent send times. */
  sendLogs: Map<string, number[]>;
}

/** The settings a step needs besides the state. */
export interface StepOptions {
  now: number;
  /** Sends per user per rolling minute; 0 means unlimited. */
  sendLimit: number;
}

/**
 * A batch in progress: the head after the commands applied so far, the facts
 * as they now stand, and everything that must be written in the commit.
 */
export interface Working {
  roomId: string;
  state: RoomState | null;
  facts: Facts;
  /** Message rows created or changed in this batch, by seq. */
  changedMessages: Map<number, StoredMessage>;
  /** `[senderId, clientMessageId, seq]` for each new idempotency record. */
  newClientMessages: [string, string, number][];
  /** Senders whose send log changed. */
  changedSendLogs: Set<string>;
  events: RoomEvent[];
}

/** Starts a batch from a loaded head and facts. The head is copied; the input is left alone. */
export function startBatch(roomId: string, state: RoomState | null, facts: Facts): Working {
  return {
    roomId,
    state: state === null ? null : structuredClone(state),
    facts,
    changedMessages: new Map(),
    newClientMessages: [],
    changedSendLogs: new Set(),
    events: [],
  };
}

/** Identifies a sender's idempotency record inside `Facts.clientMessages`. */
export function clientMessageKey(senderId: string, clientMessageId: string): string {
  return `${senderId}\u0000${clientMessageId}`;
}

/**
 * Applies one command to the batch. A command either applies completely or
 * throws before changing anything, so a rejected command never disturbs the
 * others in its batch.
 *
 * @throws {HttpError} when the command is not allowed (403, 404, 429, 400).
 */
export function applyCommand<C extends RoomCommand>(
  work: Working,
  cmd: C,
  options: StepOptions,
): ResultOf<C> {
  switch (cmd.kind) {
    case "createGroup":
      return createGroupStep(work, cmd, options) as ResultOf<C>;
    case "openDirect":
      return openDirectStep(work, cmd, options) as ResultOf<C>;
    case "send":
      return sendStep(work, cmd, options) as ResultOf<C>;
    case "read":
      return readStep(work, cmd, options) as ResultOf<C>;
  }
  throw new TypeError(`Unknown room command ${(cmd as RoomCommand).kind}`);
}

function createGroupStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "createGroup" }>,
  { now }: StepOptions,
): CommandResults["createGroup"] {
  if (work.state !== null) throw new HttpError(409, "Room already exists");
  const memberIds = [...new Set(cmd.memberIds)].filter((id) => id !== cmd.creator.id);
  if (memberIds.length + 1 > MAX_GROUP_MEMBERS) {
    throw new HttpError(400, `memberIds: a group holds at most ${MAX_GROUP_MEMBERS} members`);
  }
  const members: Record<string, Member> = { [cmd.creator.id]: newMember("owner", now, 0) };
  for (const id of memberIds) members[id] = newMember("member", now, 0);
  work.state = newRoom(work.roomId, "GROUP", cmd.creator.id, now, members);
  work.state.name = cmd.name;
  work.state.avatar = cmd.avatar;
  work.events.push({ type: "room.created", roomId: work.roomId, memberIds: Object.keys(members) });
  return { roomId: work.roomId };
}

function openDirectStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "openDirect" }>,
  { now }: StepOptions,
): CommandResults["openDirect"] {
  if (work.state === null) createDirectRoom(work, cmd.user.id, cmd.peer.id, now);
  else if (!isActive(work.state.members[cmd.user.id])) throw new HttpError(403, "Not a member of this room");
  return { roomId: work.roomId };
}

function sendStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "send" }>,
  { now, sendLimit }: StepOptions,
): CommandResults["send"] {
  const { sender, input } = cmd;
  const existing = work.state;
  if (existing === null && cmd.peer === undefined) throw new HttpError(404, "Room not found");
  if (existing !== null && !isActive(existing.members[sender.id])) {
    throw new HttpError(403, "Not a member of this room");
  }
  if (input.clientMessageId !== undefined) {
    const seq = work.facts.clientMessages.get(clientMessageKey(sender.id, input.clientMessageId));
    if (seq !== undefined && seq !== null) {
      const original = knownMessage(work, seq);
      return {
        message: original,
        created: false,
        receiverId: directPeer(existing!, sender.id),
        readAt: readAtByOthers(existing!, sender.id, seq),
      };
    }
  }
  const sendLog = sendLimit > 0
    ? takeSendSlot(work.facts.sendLogs.get(sender.id) ?? [], now, sendLimit)
    : undefined;
  if (sendLog && !sendLog.allowed) {
    throw new HttpError(429, "Too many messages, slow down", {
      "Retry-After": String(sendLog.retryAfterSeconds),
    });
  }
  if (input.replyToId !== undefined) checkReplyTarget(work, input.replyToId);

  // Validation is over; from here on the command changes the batch.
  const state = existing ?? createDirectRoom(work, sender.id, cmd.peer!.id, now);
  const seq = state.lastSeq + 1; // assigned under the head's versionstamp check: no gaps, no repeats
  const createdAt = Math.max(now, state.lastActivityAt);
  const message: StoredMessage = {
    id: messageId(work.roomId, seq),
    roomId: work.roomId,
    seq,
    senderId: sender.id,
    sender: { id: sender.id, name: sender.name, avatar: sender.avatar },
    content: input.content,
    type: input.type,
    ...attachmentOf(input),
    ...(input.replyToId !== undefined ? { replyToId: input.replyToId } : {}),
    ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
    reactions: {},
    ...(input.clientMessageId !== undefined ? { clientMessageId: input.clientMessageId } : {}),
    createdAt,
  };
  state.lastSeq = seq;
  state.lastActivityAt = createdAt;
  state.lastMessage = previewOf(message);
  const own = state.members[sender.id]!;
  own.readSeq = seq;
  own.readAt = createdAt;
  for (const member of Object.values(state.members)) member.archived = false;
  pruneDeletedUnread(state);

  work.changedMessages.set(seq, message);
  work.facts.messages.set(seq, message);
  if (input.clientMessageId !== undefined) {
    work.facts.clientMessages.set(clientMessageKey(sender.id, input.clientMessageId), seq);
    work.newClientMessages.push([sender.id, input.clientMessageId, seq]);
  }
  if (sendLog?.allowed) {
    work.facts.sendLogs.set(sender.id, sendLog.log);
    work.changedSendLogs.add(sender.id);
  }
  const others = Object.keys(state.members).filter((id) => id !== sender.id && isActive(state.members[id]));
  const receiverId = directPeer(state, sender.id);
  work.events.push({
    type: "message.created",
    message,
    ...(receiverId !== undefined ? { receiverId } : {}),
    unread: Object.fromEntries(others.map((id) => [id, unreadCount(state, id)])),
  });
  return { message, created: true, receiverId, readAt: null };
}

function readStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "read" }>,
  { now }: StepOptions,
): CommandResults["read"] {
  const state = work.state;
  if (state === null) throw new HttpError(404, "Room not found");
  const member = state.members[cmd.userId];
  if (!isActive(member)) throw new HttpError(403, "Not a member of this room");
  const target = Math.min(cmd.upToSeq ?? state.lastSeq, state.lastSeq);
  if (target > member.readSeq) { // read positions only move forward
    member.readSeq = target;
    member.readAt = now;
    pruneDeletedUnread(state);
    work.events.push({
      type: "message.read",
      roomId: work.roomId,
      messageId: messageId(work.roomId, target),
      seq: target,
      readBy: cmd.userId,
      readAt: now,
      unreadCount: unreadCount(state, cmd.userId),
    });
  }
  return { unreadCount: unreadCount(state, cmd.userId) };
}

function createDirectRoom(work: Working, senderId: string, peerId: string, now: number): RoomState {
  const members = {
    [senderId]: newMember("member", now, 0),
    [peerId]: newMember("member", now, 0),
  };
  const state = newRoom(work.roomId, "DIRECT", senderId, now, members);
  work.state = state;
  work.events.push({ type: "room.created", roomId: work.roomId, memberIds: [senderId, peerId] });
  return state;
}

function newRoom(
  id: string,
  type: RoomState["type"],
  createdBy: string,
  now: number,
  members: Record<string, Member>,
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

function newMember(role: Member["role"], now: number, readSeq: number): Member {
  return { role, joinedAt: now, readSeq, readAt: null, archived: false };
}

function knownMessage(work: Working, seq: number): StoredMessage {
  const message = work.facts.messages.get(seq);
  if (!message) throw new TypeError(`Message ${seq} of room ${work.roomId} was not loaded`);
  return message;
}

function checkReplyTarget(work: Working, replyToId: string): void {
  const target = parseMessageId(replyToId);
  const message = target?.roomId === work.roomId ? work.facts.messages.get(target.seq) : undefined;
  if (!message || message.deletedAt !== undefined) {
    throw new HttpError(400, "replyToId: no such message in this room");
  }
}

function attachmentOf(input: SendInput): Partial<StoredMessage> {
  const out: Partial<StoredMessage> = {};
  if (input.attachmentUrl !== undefined) out.attachmentUrl = input.attachmentUrl;
  if (input.attachmentType !== undefined) out.attachmentType = input.attachmentType;
  if (input.attachmentName !== undefined) out.attachmentName = input.attachmentName;
  if (input.attachmentSize !== undefined) out.attachmentSize = input.attachmentSize;
  return out;
}

/** The room-list preview of a message: its text, or a label for an attachment. */
export function previewOf(message: StoredMessage): MessagePreview {
  return {
    id: message.id,
    seq: message.seq,
    senderId: message.senderId,
    text: truncate(previewText(message), PREVIEW_LENGTH),
    createdAt: message.createdAt,
  };
}

/** The one-line text of a message for previews and push bodies. */
export function previewText(message: Pick<StoredMessage, "type" | "content" | "attachmentName">): string {
  const content = message.content.trim();
  if (message.type === "image") return content ? `📷 ${content}` : "📷 Photo";
  if (message.type === "file") return `📎 ${message.attachmentName || content || "File"}`;
  return content;
}

/** Cuts text to at most `max` characters without splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max).join("");
}
