/** @module The `edit` command: replaces a message's text, keeping the previous version. */
import { HttpError } from "../../http_error.ts";
import { MAX_EDITS } from "../../limits.ts";
import { keys } from "../../storage/keys.ts";
import type { StoredMessage } from "../../storage/records.ts";
import { defineCommand } from "./command.ts";
import {
  activeRoom,
  checkRowSize,
  type MessageResult,
  messageResult,
  previewOf,
  putMessage,
  takeSlot,
  visibleMessage,
} from "./rules.ts";

/** Replaces the text of message `seq`, which `userId` sent. */
export interface EditCommand {
  kind: "edit";
  userId: string;
  seq: number;
  content: string;
}

/** `changed` is false when the content was already the same. */
export type EditResult = MessageResult & { changed: boolean };

export const edit = defineCommand({
  facts: ["messages", "rateLogs"],
  emits: ["message.updated"],
  actor: (cmd: EditCommand) => cmd.userId,
  needs: (cmd: EditCommand) => ({ messages: [cmd.seq], rateLogs: { kind: "write", userId: cmd.userId } }),
  apply(work, cmd: EditCommand, options): EditResult {
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
  },
  // The search index holds the old words: the message is re-indexed after the commit.
  derivedRows: (work, cmd: EditCommand, result) =>
    result.changed ? [{ key: keys.searchTodo(work.roomId, cmd.seq), value: null }] : [],
  estimateBytes: (cmd: EditCommand) => 8 * cmd.content.length + 2048, // row, kept version, event
});
