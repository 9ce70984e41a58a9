/** @module The `archive` command: a member archives the room for themself (or brings it back). */
import { memberOf } from "../room_head.ts";
import { defineCommand } from "./command.ts";
import { activeRoom, takeSlot } from "./rules.ts";

/** Sets `userId`'s archive flag of the room. */
export interface ArchiveCommand {
  kind: "archive";
  userId: string;
  archived: boolean;
}

export const archive = defineCommand({
  facts: ["rateLogs"],
  emits: ["room.archived"],
  actor: (cmd: ArchiveCommand) => cmd.userId,
  needs: (cmd: ArchiveCommand) => ({ rateLogs: { kind: "write", userId: cmd.userId } }),
  apply(work, cmd: ArchiveCommand, options): { archived: boolean } {
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
  },
});
