/** @module The `react` command: toggles one user's emoji on a message. */
import { HttpError } from "../../http_error.ts";
import { MAX_REACTION_KINDS } from "../../limits.ts";
import type { StoredMessage } from "../../storage/records.ts";
import { defineCommand } from "./command.ts";
import {
  activeRoom,
  checkRowSize,
  type MessageResult,
  messageResult,
  putMessage,
  takeSlot,
  visibleMessage,
} from "./rules.ts";

/** Adds `userId`'s `emoji` to message `seq`, or removes it when it is there. */
export interface ReactCommand {
  kind: "react";
  userId: string;
  seq: number;
  emoji: string;
}

/** `added` is false when the reaction was removed. */
export type ReactResult = MessageResult & { added: boolean };

export const react = defineCommand({
  facts: ["messages", "rateLogs"],
  emits: ["reaction.updated"],
  actor: (cmd: ReactCommand) => cmd.userId,
  needs: (cmd: ReactCommand) => ({ messages: [cmd.seq], rateLogs: { kind: "write", userId: cmd.userId } }),
  apply(work, cmd: ReactCommand, options): ReactResult {
    const state = activeRoom(work, cmd.userId);
    const message = visibleMessage(work, state, cmd.seq);
    const users = message.reactions.get(cmd.emoji) ?? [];
    const added = !users.includes(cmd.userId);
    const reactions = new Map(message.reactions);
    if (added) {
      if (users.length === 0 && reactions.size >= MAX_REACTION_KINDS) {
        throw new HttpError(
          400,
          `emoji: a message carries at most ${MAX_REACTION_KINDS} different reactions`,
        );
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
  },
});
