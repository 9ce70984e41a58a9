/** @module The `delete` command: marks a message deleted; the preview falls back to the one before. */
import { HttpError } from "../../http_error.ts";
import { MAX_DELETED_UNREAD } from "../../limits.ts";
import { keys } from "../../storage/keys.ts";
import type { MessagePreview } from "../../storage/records.ts";
import { activeMemberIds, isModerator, memberOf, unreadCount } from "../room_head.ts";
import { defineCommand, type Facts, type Working } from "./command.ts";
import { activeRoom, existingMessage, previewOf, putMessage, takeSlot } from "./rules.ts";

/** Deletes message `seq`: its sender, or a group's owner or admin. */
export interface DeleteCommand {
  kind: "delete";
  userId: string;
  seq: number;
}

/** `deleted` is false when the message was already deleted. */
export interface DeleteResult {
  messageId: string;
  seq: number;
  deleted: boolean;
}

export const deleteMessage = defineCommand({
  facts: ["messages", "rateLogs", "recent"],
  emits: ["message.deleted"],
  actor: (cmd: DeleteCommand) => cmd.userId,
  needs: (cmd: DeleteCommand) => ({
    messages: [cmd.seq],
    rateLogs: { kind: "write", userId: cmd.userId },
    recent: [cmd.seq],
  }),
  apply(work, cmd: DeleteCommand, options): DeleteResult {
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
  },
  // The deleted text leaves the search index after the commit; an uploaded attachment's bytes, the store.
  derivedRows(work, cmd: DeleteCommand, result) {
    if (!result.deleted) return [];
    const message = work.facts.messages.get(cmd.seq)!;
    const upload = message.upload;
    return [
      { key: keys.searchTodo(work.roomId, cmd.seq), value: null },
      ...(upload ? [{ key: keys.uploadSweep(message.deletedAt!, upload.id), value: null }] : []),
    ];
  },
});

/** The preview of the newest visible message before `seq`, or null when there is none. */
function previousPreview(
  work: Working<Pick<Facts, "messages" | "recent">, "message.deleted">,
  seq: number,
): MessagePreview | null {
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
