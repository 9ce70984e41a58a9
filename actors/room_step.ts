/**
 * @module The room's state transitions: pure functions from (head, loaded facts,
 * command, clock) to a new head, message rows and events. No I/O happens here.
 */
import { createHash } from "node:crypto";
import { previewLine } from "../common/preview.js";
import { HttpError } from "../http_error.ts";
import {
  MAX_DELETED_UNREAD,
  MAX_EDITS,
  MAX_GROUP_MEMBERS,
  MAX_HEAD_BYTES,
  MAX_MEMBER_KEY_BYTES,
  MAX_MESSAGE_ROW_BYTES,
  MAX_REACTION_KINDS,
} from "../limits.ts";
import { messageId, parseMessageId } from "../storage/ids.ts";
import { keys } from "../storage/keys.ts";
import { keyBytes, valueBytes } from "../storage/kv_size.ts";
import {
  type Member,
  type MessageExtra,
  messageExtras,
  type MessagePreview,
  type MessageVersion,
  type Profile,
  type Role,
  type RoomEvent,
  type RoomState,
  type StoredMessage,
} from "../storage/records.ts";
import { type RateKind, takeRateSlot } from "./rate_limit.ts";
import {
  activeMemberIds,
  directPeer,
  forgetFormerMembers,
  isActive,
  isModerator,
  memberOf,
  pruneDeletedUnread,
  readAtByOthers,
  successorOf,
  unreadCount,
} from "./room_head.ts";

/** A message as the client asked for it, already validated at the edge. */
export type SendInput = Pick<StoredMessage, "content" | "type" | MessageExtra>;

/** What a room can be asked to do. */
export type RoomCommand =
  | {
    kind: "createGroup";
    creator: Profile;
    name: string;
    avatar: string | null;
    memberIds: string[];
    /** Makes a retry return the group its first attempt created (the room id derives from it). */
    clientGroupId?: string;
  }
  | { kind: "openDirect"; user: Profile; peer: Profile }
  | { kind: "send"; sender: Profile; input: SendInput; peer?: Profile }
  | { kind: "read"; userId: string; upToSeq?: number }
  | { kind: "edit"; userId: string; seq: number; content: string }
  | { kind: "delete"; userId: string; seq: number }
  | { kind: "react"; userId: string; seq: number; emoji: string }
  | { kind: "addMembers"; userId: string; memberIds: string[] }
  | { kind: "removeMember"; userId: string; memberId: string }
  | { kind: "updateRoom"; userId: string; name?: string; avatar?: string | null }
  | { kind: "setRole"; userId: string; memberId: string; role: Role }
  | { kind: "archive"; userId: string; archived: boolean };

/** A message with what its receipt needs, as edit and react resolve. */
export interface MessageResult {
  message: StoredMessage;
  receiverId?: string;
  readAt: number | null;
}

/** What each command resolves to. */
export interface CommandResults {
  createGroup: { roomId: string };
  openDirect: { roomId: string };
  /** `readAt`: when every other member had read the message (for replays of older sends). */
  send: { message: StoredMessage; created: boolean; receiverId?: string; readAt: number | null };
  read: { unreadCount: number };
  /** `changed` is false when the content was already the same. */
  edit: MessageResult & { changed: boolean };
  /** `deleted` is false when the message was already deleted. */
  delete: { messageId: string; seq: number; deleted: boolean };
  react: MessageResult & { added: boolean };
  /** The members who were not active before (re-added former members included). */
  addMembers: { added: string[] };
  /** `ownerId` is set when ownership passed on because the owner left. */
  removeMember: { left: boolean; ownerId?: string };
  updateRoom: { changed: boolean };
  setRole: { roles: Record<string, Role> };
  archive: { archived: boolean };
}

/** The result type of a command. */
export type ResultOf<C extends RoomCommand> = CommandResults[C["kind"]];

/** Rows read before the batch runs, under the same head versionstamp check. */
export interface Facts {
  /** Message rows by seq; null when the row does not exist. */
  messages: Map<number, StoredMessage | null>;
  /** `clientMessageKey(senderId, clientMessageId)` → what that send created, or null. */
  clientMessages: Map<string, ClientMessageRecord | null>;
  /** Recent request times per limit and user, keyed by `rateLogKey(kind, userId)`. */
  rateLogs: Map<string, number[]>;
  /**
   * Whether a user blocked another, keyed by `blockKey(blockerId, blockedId)`:
   * for a direct room both members, for group creation and adds whether each
   * user to add blocked the caller. The commit checks what these rows depend
   * on, so a block and a send (or an add) never cross.
   */
  blocks: Map<string, boolean>;
  /**
   * Set when a delete may remove the room's latest visible message: every row
   * with seq ≥ `floor` is in `messages`, and when `noneBelow` no message below
   * `floor` is visible. The preview falls back within this window.
   */
  recent?: { floor: number; noneBelow: boolean };
}

/** What a `clientMessageId` stands for: the seq its send took, and a digest of that send's body. */
export interface ClientMessageRecord {
  seq: number;
  /** `sendFingerprint` of the body; absent in records written before it was kept. */
  fingerprint?: string;
}

/** Facts with nothing loaded yet. */
export function emptyFacts(): Facts {
  return { messages: new Map(), clientMessages: new Map(), rateLogs: new Map(), blocks: new Map() };
}

/** The settings a step needs besides the state. */
export interface StepOptions {
  now: number;
  /** Sends per user per rolling minute; 0 means unlimited. */
  sendLimit: number;
  /** Other writes (edits, reactions, group changes, …) per user per rolling minute; 0 or absent: unlimited. */
  writeLimit?: number;
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
  /** `[senderId, clientMessageId, record]` for each new idempotency record. */
  newClientMessages: [string, string, ClientMessageRecord][];
  /** `rateLogKey`s of the rate logs that took a slot. */
  changedRateLogs: Set<string>;
  /** Previous contents of messages edited in this batch. */
  newVersions: MessageVersion[];
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
    changedRateLogs: new Set(),
    newVersions: [],
    events: [],
  };
}

/** Identifies a sender's idempotency record inside `Facts.clientMessages`. */
export function clientMessageKey(senderId: string, clientMessageId: string): string {
  return `${senderId}\u0000${clientMessageId}`;
}

/** Identifies a user's rate log of one kind inside `Facts.rateLogs`. */
export function rateLogKey(kind: RateKind, userId: string): string {
  return `${kind}\u0000${userId}`;
}

/** The kind and user of a `rateLogKey`. */
export function parseRateLogKey(key: string): { kind: RateKind; userId: string } {
  const at = key.indexOf("\u0000");
  return { kind: key.slice(0, at) as RateKind, userId: key.slice(at + 1) };
}

/**
 * A digest of what a send asks for, apart from its `clientMessageId`: a retry
 * carries the same one, a different message under a reused id does not.
 */
export function sendFingerprint(input: SendInput): string {
  const { clientMessageId: _, ...body } = { ...input, ...messageExtras(input) };
  return digest(canonicalJson(body));
}

/** JSON with object keys sorted at every level, so that equal values give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) =>
      a < b ? -1 : 1
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("base64url").slice(0, 22);
}

/**
 * Takes one slot of the user's `kind` limit, or refuses the command. Call it
 * once validation is over: a refused command changes nothing.
 *
 * @throws {HttpError} 429 with `Retry-After`.
 */
function takeSlot(work: Working, kind: RateKind, userId: string, options: StepOptions): void {
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

/** Whether a command counts against a rate limit, and which; reads are not limited. */
export function rateKindOf(cmd: RoomCommand): RateKind | undefined {
  if (cmd.kind === "send") return "send";
  return cmd.kind === "read" ? undefined : "write";
}

/** The user a command acts for. */
export function actorOf(cmd: RoomCommand): string {
  switch (cmd.kind) {
    case "createGroup":
      return cmd.creator.id;
    case "openDirect":
      return cmd.user.id;
    case "send":
      return cmd.sender.id;
    default:
      return cmd.userId;
  }
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
    case "edit":
      return editStep(work, cmd, options) as ResultOf<C>;
    case "delete":
      return deleteStep(work, cmd, options) as ResultOf<C>;
    case "react":
      return reactStep(work, cmd, options) as ResultOf<C>;
    case "addMembers":
      return addMembersStep(work, cmd, options) as ResultOf<C>;
    case "removeMember":
      return removeMemberStep(work, cmd, options) as ResultOf<C>;
    case "updateRoom":
      return updateRoomStep(work, cmd, options) as ResultOf<C>;
    case "setRole":
      return setRoleStep(work, cmd, options) as ResultOf<C>;
    case "archive":
      return archiveStep(work, cmd, options) as ResultOf<C>;
  }
  throw new TypeError(`Unknown room command ${(cmd as RoomCommand).kind}`);
}

function createGroupStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "createGroup" }>,
  options: StepOptions,
): CommandResults["createGroup"] {
  const memberIds = [...new Set(cmd.memberIds)].filter((id) => id !== cmd.creator.id);
  const fingerprint = digest(
    canonicalJson({ name: cmd.name, avatar: cmd.avatar, memberIds: memberIds.sort() }),
  );
  if (work.state !== null) {
    const first = work.state.creation;
    if (cmd.clientGroupId === undefined || first?.clientGroupId !== cmd.clientGroupId) {
      throw new HttpError(409, "Room already exists");
    }
    if (first.fingerprint !== fingerprint) {
      throw new HttpError(409, "clientGroupId: already used for a different group");
    }
    return { roomId: work.roomId }; // a retry of the request that created it: nothing to commit
  }
  if (memberIds.length + 1 > MAX_GROUP_MEMBERS) {
    throw new HttpError(400, `memberIds: a group holds at most ${MAX_GROUP_MEMBERS} members`);
  }
  assertMayAdd(work, cmd.creator.id, memberIds);
  assertMemberKeysFit(work.roomId, [cmd.creator.id, ...memberIds], "memberIds");
  takeSlot(work, "write", cmd.creator.id, options);

  const { now } = options;
  const members = new Map<string, Member>([[cmd.creator.id, newMember("owner", now, 0)]]);
  for (const id of memberIds) members.set(id, newMember("member", now, 0));
  work.state = newRoom(work.roomId, "GROUP", cmd.creator.id, now, members);
  work.state.name = cmd.name;
  work.state.avatar = cmd.avatar;
  if (cmd.clientGroupId !== undefined) {
    work.state.creation = { clientGroupId: cmd.clientGroupId, fingerprint };
  }
  work.events.push({ type: "room.created", roomId: work.roomId, memberIds: [...members.keys()] });
  return { roomId: work.roomId };
}

/**
 * Refuses to put users into a group who blocked the one adding them.
 *
 * @throws {HttpError} 403.
 */
function assertMayAdd(work: Working, actorId: string, userIds: string[]): void {
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
function assertMemberKeysFit(roomId: string, memberIds: string[], field: string): void {
  const bytes = memberIds.reduce((n, id) => n + memberKeyBytes(roomId, id), 0);
  if (bytes > MAX_MEMBER_KEY_BYTES) {
    throw new HttpError(400, `${field}: these members' ids are too long together for one group`);
  }
}

/** The keys one member adds to a send's commit: the room-list entry moved (delete + set) and the unread total. */
export function memberKeyBytes(roomId: string, userId: string): number {
  return 2 * keyBytes(keys.userRoom(userId, false, 0, roomId)) + keyBytes(keys.unreadTotal(userId));
}

function openDirectStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "openDirect" }>,
  options: StepOptions,
): CommandResults["openDirect"] {
  if (work.state !== null) activeRoom(work, cmd.user.id);
  assertNotBlocked(work, cmd.user.id, cmd.peer.id);
  takeSlot(work, "write", cmd.user.id, options);
  if (work.state === null) createDirectRoom(work, cmd.user.id, cmd.peer.id, options.now);
  return { roomId: work.roomId };
}

/** The key of "`blockerId` blocked `blockedId`" in `Facts.blocks`. */
export function blockKey(blockerId: string, blockedId: string): string {
  return `${blockerId}\u0000${blockedId}`;
}

/**
 * Refuses a direct message between users when either blocked the other.
 *
 * @throws {HttpError} 403.
 */
function assertNotBlocked(work: Working, senderId: string, peerId: string): void {
  if (work.facts.blocks.get(blockKey(peerId, senderId))) {
    throw new HttpError(403, "You cannot message this user");
  }
  if (work.facts.blocks.get(blockKey(senderId, peerId))) {
    throw new HttpError(403, "Unblock this user to message them");
  }
}

function sendStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "send" }>,
  options: StepOptions,
): CommandResults["send"] {
  const { sender, input } = cmd;
  const existing = work.state;
  if (existing === null && cmd.peer === undefined) throw new HttpError(404, "Room not found");
  if (existing !== null) {
    // A retry returns what the first attempt stored, even if the sender has left since.
    const replay = replayedSend(work, existing, sender.id, input);
    if (replay) return replay;
    activeRoom(work, sender.id);
  }
  const peerId = cmd.peer?.id ?? (existing ? directPeer(existing, sender.id) : undefined);
  if (peerId !== undefined) assertNotBlocked(work, sender.id, peerId);
  if (input.replyToId !== undefined) checkReplyTarget(work, input.replyToId);
  takeSlot(work, "send", sender.id, options);

  // Validation is over; from here on the command changes the batch.
  const { now } = options;
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
    ...messageExtras(input),
    reactions: new Map(),
    createdAt,
  };
  state.lastSeq = seq;
  state.lastActivityAt = createdAt;
  state.lastMessage = previewOf(message);
  const own = memberOf(state, sender.id)!;
  own.readSeq = seq;
  own.readAt = createdAt;
  for (const member of state.members.values()) member.archived = false;
  pruneDeletedUnread(state);

  work.changedMessages.set(seq, message);
  work.facts.messages.set(seq, message);
  if (input.clientMessageId !== undefined) {
    const record = { seq, fingerprint: sendFingerprint(input) };
    work.facts.clientMessages.set(clientMessageKey(sender.id, input.clientMessageId), record);
    work.newClientMessages.push([sender.id, input.clientMessageId, record]);
  }
  const others = activeMemberIds(state).filter((id) => id !== sender.id);
  const receiverId = directPeer(state, sender.id);
  work.events.push({
    type: "message.created",
    message,
    ...(receiverId !== undefined ? { receiverId } : {}),
    unread: Object.fromEntries(others.map((id) => [id, unreadCount(state, id)])),
  });
  return { message, created: true, receiverId, readAt: null };
}

/**
 * The message an earlier send with the same `clientMessageId` stored, or
 * undefined when there was none.
 *
 * @throws {HttpError} 409 when the id was used for a different message.
 */
function replayedSend(
  work: Working,
  state: RoomState,
  senderId: string,
  input: SendInput,
): CommandResults["send"] | undefined {
  if (input.clientMessageId === undefined) return undefined;
  const record = work.facts.clientMessages.get(clientMessageKey(senderId, input.clientMessageId));
  if (record === undefined || record === null) return undefined;
  if (record.fingerprint !== undefined && record.fingerprint !== sendFingerprint(input)) {
    throw new HttpError(409, "clientMessageId: already used for a different message");
  }
  return {
    message: knownMessage(work, record.seq),
    created: false,
    receiverId: directPeer(state, senderId),
    readAt: readAtByOthers(state, senderId, record.seq),
  };
}

function readStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "read" }>,
  { now }: StepOptions,
): CommandResults["read"] {
  const state = activeRoom(work, cmd.userId);
  const member = memberOf(state, cmd.userId)!;
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

function editStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "edit" }>,
  options: StepOptions,
): CommandResults["edit"] {
  const state = activeRoom(work, cmd.userId);
  const message = visibleMessage(work, state, cmd.seq);
  if (message.senderId !== cmd.userId) throw new HttpError(403, "Only the sender can edit a message");
  if (cmd.content === "" && message.attachmentUrl === undefined) {
    throw new HttpError(400, "content: must not be empty");
  }
  const unchanged = cmd.content === message.content;
  const version = message.editCount ?? 0;
  if (!unchanged && version >= MAX_EDITS) {
    throw new HttpError(400, `content: a message can be edited at most ${MAX_EDITS} times`);
  }
  takeSlot(work, "write", cmd.userId, options);
  if (unchanged) return { ...messageResult(state, message), changed: false };
  const { now } = options;
  const writtenAt = message.editedAt ?? message.createdAt;
  const editedAt = Math.max(now, writtenAt);
  const edited: StoredMessage = { ...message, content: cmd.content, editedAt, editCount: version + 1 };
  checkRowSize(edited, "content: too long for this message");

  work.newVersions.push({
    roomId: work.roomId,
    seq: cmd.seq,
    version,
    content: message.content,
    writtenAt,
    replacedAt: editedAt,
  });
  putMessage(work, edited);
  if (state.lastMessage?.seq === cmd.seq) state.lastMessage = previewOf(edited);
  work.events.push({
    type: "message.updated",
    roomId: work.roomId,
    seq: cmd.seq,
    messageId: edited.id,
    senderId: edited.senderId,
    content: edited.content,
    editedAt,
  });
  return { ...messageResult(state, edited), changed: true };
}

function deleteStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "delete" }>,
  options: StepOptions,
): CommandResults["delete"] {
  const state = activeRoom(work, cmd.userId);
  const message = existingMessage(work, state, cmd.seq);
  const mayDelete = message.senderId === cmd.userId ||
    (state.type === "GROUP" && isModerator(memberOf(state, cmd.userId)));
  if (!mayDelete) {
    throw new HttpError(403, "Only the sender or a group owner or admin can delete this message");
  }
  takeSlot(work, "write", cmd.userId, options);
  const result = { messageId: message.id, seq: cmd.seq, deleted: false };
  if (message.deletedAt !== undefined) return result; // deleting twice changes nothing
  const { now } = options;

  const preview = state.lastMessage?.seq === cmd.seq ? previousPreview(work, cmd.seq) : state.lastMessage;
  const lowered = activeMemberIds(state).filter((id) => memberOf(state, id)!.readSeq < cmd.seq);

  putMessage(work, { ...message, deletedAt: now, deletedBy: cmd.userId });
  state.lastMessage = preview;
  if (lowered.length > 0) {
    state.deletedUnread = [...state.deletedUnread, cmd.seq].sort((a, b) => a - b)
      .slice(-MAX_DELETED_UNREAD);
  }
  work.events.push({
    type: "message.deleted",
    roomId: work.roomId,
    seq: cmd.seq,
    messageId: message.id,
    deletedBy: cmd.userId,
    deletedAt: now,
    unread: Object.fromEntries(lowered.map((id) => [id, unreadCount(state, id)])),
  });
  return { ...result, deleted: true };
}

function reactStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "react" }>,
  options: StepOptions,
): CommandResults["react"] {
  const state = activeRoom(work, cmd.userId);
  const message = visibleMessage(work, state, cmd.seq);
  const users = message.reactions.get(cmd.emoji) ?? [];
  const added = !users.includes(cmd.userId);
  const reactions = new Map(message.reactions);
  if (added) {
    if (users.length === 0 && reactions.size >= MAX_REACTION_KINDS) {
      throw new HttpError(400, `emoji: a message carries at most ${MAX_REACTION_KINDS} different reactions`);
    }
    reactions.set(cmd.emoji, [...users, cmd.userId]);
  } else {
    const rest = users.filter((id) => id !== cmd.userId);
    if (rest.length > 0) reactions.set(cmd.emoji, rest);
    else reactions.delete(cmd.emoji);
  }
  const updated: StoredMessage = { ...message, reactions };
  if (added) checkRowSize(updated, "emoji: this message has too many reactions");
  takeSlot(work, "write", cmd.userId, options);

  putMessage(work, updated);
  work.events.push({
    type: "reaction.updated",
    roomId: work.roomId,
    seq: cmd.seq,
    messageId: message.id,
    userId: cmd.userId,
    emoji: cmd.emoji,
    added,
    userIds: reactions.get(cmd.emoji) ?? [],
  });
  return { ...messageResult(state, updated), added };
}

function addMembersStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "addMembers" }>,
  options: StepOptions,
): CommandResults["addMembers"] {
  const state = groupRoom(work, cmd.userId);
  if (!isModerator(memberOf(state, cmd.userId))) {
    throw new HttpError(403, "Only the group's owner or an admin can add members");
  }
  const added = [...new Set(cmd.memberIds)].filter((id) => !isActive(memberOf(state, id)));
  if (activeMemberIds(state).length + added.length > MAX_GROUP_MEMBERS) {
    throw new HttpError(400, `userIds: a group holds at most ${MAX_GROUP_MEMBERS} members`);
  }
  assertMayAdd(work, cmd.userId, added);
  assertMemberKeysFit(work.roomId, [...activeMemberIds(state), ...added], "userIds");
  takeSlot(work, "write", cmd.userId, options);
  if (added.length === 0) return { added };
  const { now } = options;

  // Added and re-added members start with nothing unread.
  for (const id of added) state.members.set(id, newMember("member", now, state.lastSeq));
  forgetFormerMembers(state, MAX_HEAD_BYTES);
  work.events.push({
    type: "member.added",
    roomId: work.roomId,
    seq: state.lastSeq,
    userIds: added,
    addedBy: cmd.userId,
    memberIds: activeMemberIds(state),
  });
  return { added };
}

function removeMemberStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "removeMember" }>,
  options: StepOptions,
): CommandResults["removeMember"] {
  const state = groupRoom(work, cmd.userId);
  const actor = memberOf(state, cmd.userId)!;
  const left = cmd.memberId === cmd.userId;
  const target = memberOf(state, cmd.memberId);
  if (!left) {
    if (!isModerator(actor)) {
      throw new HttpError(403, "Only the group's owner or an admin can remove members");
    }
    if (!isActive(target)) throw new HttpError(404, "Member not found");
    if (actor.role === "admin" && target.role !== "member") {
      throw new HttpError(403, "An admin can remove members only, not the owner or other admins");
    }
  }
  takeSlot(work, "write", cmd.userId, options);

  const member = target!;
  const ownerId = member.role === "owner" ? successorOf(state, cmd.memberId) : undefined;
  member.leftSeq = state.lastSeq; // history stays readable up to here
  member.role = "member";
  member.archived = false;
  pruneDeletedUnread(state);
  work.events.push({
    type: "member.removed",
    roomId: work.roomId,
    seq: state.lastSeq,
    userId: cmd.memberId,
    removedBy: cmd.userId,
    left,
    memberIds: activeMemberIds(state),
  });
  if (ownerId !== undefined) {
    memberOf(state, ownerId)!.role = "owner";
    pushRoomUpdated(work, state, cmd.userId, { roles: { [ownerId]: "owner" } });
  }
  return { left, ...(ownerId !== undefined ? { ownerId } : {}) };
}

function updateRoomStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "updateRoom" }>,
  options: StepOptions,
): CommandResults["updateRoom"] {
  const state = groupRoom(work, cmd.userId);
  if (!isModerator(memberOf(state, cmd.userId))) {
    throw new HttpError(403, "Only the group's owner or an admin can change its name or avatar");
  }
  takeSlot(work, "write", cmd.userId, options);
  const changes: { name?: string; avatar?: string | null } = {};
  if (cmd.name !== undefined && cmd.name !== state.name) changes.name = cmd.name;
  if (cmd.avatar !== undefined && cmd.avatar !== state.avatar) changes.avatar = cmd.avatar;
  if (Object.keys(changes).length === 0) return { changed: false };
  Object.assign(state, changes);
  pushRoomUpdated(work, state, cmd.userId, changes);
  return { changed: true };
}

function setRoleStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "setRole" }>,
  options: StepOptions,
): CommandResults["setRole"] {
  const state = groupRoom(work, cmd.userId);
  const actor = memberOf(state, cmd.userId)!;
  if (actor.role !== "owner") throw new HttpError(403, "Only the group's owner can change roles");
  const target = memberOf(state, cmd.memberId);
  if (!isActive(target)) throw new HttpError(404, "Member not found");
  if (cmd.memberId === cmd.userId) {
    throw new HttpError(400, "role: the owner hands over ownership by making another member owner");
  }
  takeSlot(work, "write", cmd.userId, options);
  if (target.role === cmd.role) return { roles: {} };
  // One owner: when ownership moves, the old owner stays on as admin.
  const changed: [string, Role][] = cmd.role === "owner"
    ? [[cmd.memberId, "owner"], [cmd.userId, "admin"]]
    : [[cmd.memberId, cmd.role]];
  for (const [id, role] of changed) memberOf(state, id)!.role = role;
  const roles: Record<string, Role> = Object.fromEntries(changed);
  pushRoomUpdated(work, state, cmd.userId, { roles });
  return { roles };
}

function archiveStep(
  work: Working,
  cmd: Extract<RoomCommand, { kind: "archive" }>,
  options: StepOptions,
): CommandResults["archive"] {
  const state = activeRoom(work, cmd.userId);
  const member = memberOf(state, cmd.userId)!;
  takeSlot(work, "write", cmd.userId, options);
  if (member.archived !== cmd.archived) {
    member.archived = cmd.archived;
    work.events.push({
      type: "room.archived",
      roomId: work.roomId,
      seq: state.lastSeq,
      userId: cmd.userId,
      archived: cmd.archived,
    });
  }
  return { archived: cmd.archived };
}

function pushRoomUpdated(
  work: Working,
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

/**
 * The room, when `userId` is an active member of it. A room they never belonged
 * to answers exactly like a room that does not exist (no existence oracle).
 *
 * @throws {HttpError} 404 never a member (or no such room), 403 a former member.
 */
function activeRoom(work: Working, userId: string): RoomState {
  const state = work.state;
  const member = state === null ? undefined : memberOf(state, userId);
  if (state === null || member === undefined) throw new HttpError(404, "Room not found");
  if (!isActive(member)) throw new HttpError(403, "Not a member of this room");
  return state;
}

/** The group, when `userId` is an active member of it; direct rooms keep their two members. */
function groupRoom(work: Working, userId: string): RoomState {
  const state = activeRoom(work, userId);
  if (state.type !== "GROUP") throw new HttpError(400, "A direct room's members cannot change");
  return state;
}

/** A message of the room, deleted or not. */
function existingMessage(work: Working, state: RoomState, seq: number): StoredMessage {
  if (seq < 1 || seq > state.lastSeq) throw new HttpError(404, "Message not found");
  const message = work.facts.messages.get(seq);
  if (message === undefined) throw new TypeError(`Message ${seq} of room ${work.roomId} was not loaded`);
  if (message === null) throw new HttpError(404, "Message not found");
  return message;
}

/** A message of the room that is not deleted. */
function visibleMessage(work: Working, state: RoomState, seq: number): StoredMessage {
  const message = existingMessage(work, state, seq);
  if (message.deletedAt !== undefined) throw new HttpError(404, "Message not found");
  return message;
}

function messageResult(state: RoomState, message: StoredMessage): MessageResult {
  return {
    message,
    receiverId: directPeer(state, message.senderId),
    readAt: readAtByOthers(state, message.senderId, message.seq),
  };
}

function putMessage(work: Working, message: StoredMessage): void {
  work.changedMessages.set(message.seq, message);
  work.facts.messages.set(message.seq, message);
}

function checkRowSize(message: StoredMessage, problem: string): void {
  if (valueBytes(message) > MAX_MESSAGE_ROW_BYTES) {
    throw new HttpError(400, problem);
  }
}

/** The preview of the newest visible message before `seq`, or null when there is none. */
function previousPreview(work: Working, seq: number): MessagePreview | null {
  const recent = work.facts.recent;
  if (recent === undefined) throw new TypeError(`Recent messages of room ${work.roomId} were not loaded`);
  for (let s = seq - 1; s >= 1; s--) {
    if (s < recent.floor) {
      if (recent.noneBelow) return null;
      throw new TypeError(`Message ${s} of room ${work.roomId} was not loaded`);
    }
    const message = work.facts.messages.get(s);
    if (message && message.deletedAt === undefined) return previewOf(message);
  }
  return null;
}

function createDirectRoom(work: Working, senderId: string, peerId: string, now: number): RoomState {
  const members = new Map([
    [senderId, newMember("member", now, 0)],
    [peerId, newMember("member", now, 0)],
  ]);
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
