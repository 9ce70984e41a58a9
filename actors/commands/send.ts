/** @module The `send` command: a new message with the next seq, or the replay of an earlier send. */
import { HttpError } from "../../http_error.ts";
import { messageId, parseMessageId } from "../../storage/ids.ts";
import { keys } from "../../storage/keys.ts";
import {
  type MessageExtra,
  messageExtras,
  type Profile,
  type RoomState,
  type StoredMessage,
  type UploadRecord,
} from "../../storage/records.ts";
import {
  activeMemberIds,
  directPeer,
  memberOf,
  pruneDeletedUnread,
  readAtByOthers,
  unreadCount,
} from "../room_head.ts";
import { clientMessageKey, defineCommand, type Facts, type Working } from "./command.ts";
import {
  activeRoom,
  assertNotBlocked,
  canonicalJson,
  createDirectRoom,
  digest,
  knownMessage,
  previewOf,
  takeSlot,
} from "./rules.ts";

/** A message as the client asked for it, already validated at the edge; `uploadId` attaches an upload. */
export type SendInput = Pick<StoredMessage, "content" | "type" | MessageExtra> & { uploadId?: string };

/** Sends a message; `peer` opens the direct room with them when it does not exist yet. */
export interface SendCommand {
  kind: "send";
  sender: Profile;
  input: SendInput;
  peer?: Profile;
}

/** What a send resolves to. `readAt`: when every other member had read the message (for replays of older sends). */
export interface SendResult {
  message: StoredMessage;
  created: boolean;
  receiverId?: string;
  readAt: number | null;
}

/**
 * A digest of what a send asks for, apart from its `clientMessageId`: a retry
 * carries the same one, a different message under a reused id does not.
 */
export function sendFingerprint(input: SendInput): string {
  const { clientMessageId: _, ...body } = { ...input, ...messageExtras(input) };
  return digest(canonicalJson(body));
}

type SendWork = Working<
  Pick<Facts, "messages" | "clientMessages" | "rateLogs" | "blocks" | "uploads">,
  "room.created" | "message.created"
>;

export const send = defineCommand({
  facts: ["messages", "clientMessages", "rateLogs", "blocks", "uploads"],
  emits: ["room.created", "message.created"],
  actor: (cmd: SendCommand) => cmd.sender.id,
  needs(cmd: SendCommand, { roomId, state }) {
    const { sender, input } = cmd;
    const reply = input.replyToId === undefined ? null : parseMessageId(input.replyToId);
    const pair: [string, string] | undefined = state === null
      ? (cmd.peer ? [sender.id, cmd.peer.id] : undefined)
      : state.type === "DIRECT"
      ? [...state.members.keys()] as [string, string]
      : undefined;
    return {
      messages: reply?.roomId === roomId ? [reply.seq] : [],
      clientMessages: input.clientMessageId === undefined ? [] : [[sender.id, input.clientMessageId]],
      rateLogs: { kind: "send", userId: sender.id },
      uploads: input.uploadId === undefined ? [] : [input.uploadId],
      ...(pair ? { blocks: { direct: pair } } : {}),
    };
  },
  apply(work, cmd: SendCommand, options): SendResult {
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
    const upload = input.uploadId === undefined ? undefined : attachableUpload(work, cmd);
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
      ...(upload ? attachmentOf(upload) : {}),
      reactions: new Map(),
      createdAt,
    };
    if (upload) work.facts.uploads.set(upload.id, { ...upload, messageId: message.id });
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
  },
  derivedRows(work, cmd: SendCommand, result) {
    if (!result.created) return [];
    const { clientMessageId: id, uploadId } = cmd.input;
    const rows = [];
    // The idempotency record: a retry of this send finds it and creates nothing.
    if (id !== undefined) {
      const record = work.facts.clientMessages.get(clientMessageKey(cmd.sender.id, id));
      rows.push({ key: keys.clientMessage(work.roomId, cmd.sender.id, id), value: record });
    }
    // The upload now belongs to this message: the sweep leaves it, no other send can take it.
    if (uploadId !== undefined) {
      rows.push({ key: keys.upload(uploadId), value: work.facts.uploads.get(uploadId) });
    }
    return rows;
  },
  estimateBytes: (cmd: SendCommand) => 4 * JSON.stringify(cmd.input).length + 2048,
});

/**
 * The message an earlier send with the same `clientMessageId` stored, or
 * undefined when there was none.
 *
 * @throws {HttpError} 409 when the id was used for a different message.
 */
function replayedSend(
  work: SendWork,
  state: RoomState,
  senderId: string,
  input: SendInput,
): SendResult | undefined {
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

/**
 * The upload a send attaches: the sender's own, of this room, complete, and
 * not attached yet; for `type: "image"` an image.
 *
 * @throws {HttpError} 400.
 */
function attachableUpload(work: SendWork, cmd: SendCommand): UploadRecord {
  const upload = work.facts.uploads.get(cmd.input.uploadId!);
  if (!upload || upload.ownerId !== cmd.sender.id) {
    throw new HttpError(400, "uploadId: no such upload of yours");
  }
  if (upload.roomId !== work.roomId) {
    throw new HttpError(400, "uploadId: the upload was made for another room");
  }
  if (!upload.complete) throw new HttpError(400, "uploadId: the upload is not complete");
  if (upload.messageId !== undefined) throw new HttpError(400, "uploadId: already attached to a message");
  if (cmd.input.type === "image" && !upload.contentType.startsWith("image/")) {
    throw new HttpError(400, `type: image needs an image upload, this one is ${upload.contentType}`);
  }
  return upload;
}

/** The attachment fields a message takes from its upload (the link itself is signed by each view). */
function attachmentOf(upload: UploadRecord): Pick<StoredMessage, AttachmentField> {
  const { width, height } = upload.complete!;
  return {
    attachmentType: upload.contentType,
    attachmentName: upload.name,
    attachmentSize: upload.size,
    upload: { id: upload.id, ...(width !== undefined && height !== undefined ? { width, height } : {}) },
  };
}

type AttachmentField = "attachmentType" | "attachmentName" | "attachmentSize" | "upload";

/**
 * Refuses a reply to a message that is not a visible message of this room.
 *
 * @throws {HttpError} 400.
 */
function checkReplyTarget(work: SendWork, replyToId: string): void {
  const target = parseMessageId(replyToId);
  const message = target?.roomId === work.roomId ? work.facts.messages.get(target.seq) : undefined;
  if (!message || message.deletedAt !== undefined) {
    throw new HttpError(400, "replyToId: no such message in this room");
  }
}
