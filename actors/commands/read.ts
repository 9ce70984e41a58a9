/** @module The `read` command: moves a member's read position forward (never back). */
import { messageId } from "../../storage/ids.ts";
import { memberOf, pruneDeletedUnread, unreadCount } from "../room_head.ts";
import { defineCommand } from "./command.ts";
import { activeRoom } from "./rules.ts";

/** Marks the room read up to `upToSeq` (default: everything) for `userId`. */
export interface ReadCommand {
  kind: "read";
  userId: string;
  upToSeq?: number;
}

/** Reads are not rate limited and read nothing besides the head. */
export const read = defineCommand({
  facts: [],
  emits: ["message.read"],
  actor: (cmd: ReadCommand) => cmd.userId,
  needs: (_cmd: ReadCommand) => ({}),
  apply(work, cmd: ReadCommand, { now }): { unreadCount: number } {
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
  },
});
