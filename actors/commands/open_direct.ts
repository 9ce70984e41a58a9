/** @module The `openDirect` command: the direct room between two users, opened if missing. */
import type { Profile } from "../../storage/records.ts";
import { defineCommand } from "./command.ts";
import { activeRoom, assertNotBlocked, createDirectRoom, takeSlot } from "./rules.ts";

/** Opens the direct room of `user` and `peer` (its id derives from the pair). */
export interface OpenDirectCommand {
  kind: "openDirect";
  user: Profile;
  peer: Profile;
}

export const openDirect = defineCommand({
  facts: ["blocks", "rateLogs"],
  emits: ["room.created"],
  actor: (cmd: OpenDirectCommand) => cmd.user.id,
  needs: (cmd: OpenDirectCommand, { state }) => ({
    blocks: {
      direct: state !== null && state.type === "DIRECT"
        ? [...state.members.keys()] as [string, string]
        : [cmd.user.id, cmd.peer.id],
    },
    rateLogs: { kind: "write", userId: cmd.user.id },
  }),
  apply(work, cmd: OpenDirectCommand, options): { roomId: string } {
    if (work.state !== null) activeRoom(work, cmd.user.id);
    assertNotBlocked(work, cmd.user.id, cmd.peer.id);
    takeSlot(work, "write", cmd.user.id, options);
    if (work.state === null) createDirectRoom(work, cmd.user.id, cmd.peer.id, options.now);
    return { roomId: work.roomId };
  },
});
