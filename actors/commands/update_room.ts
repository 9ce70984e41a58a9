/** @module The `updateRoom` command: a group's name or avatar. */
import { HttpError } from "../../http_error.ts";
import { isModerator, memberOf } from "../room_head.ts";
import { defineCommand } from "./command.ts";
import { groupRoom, pushRoomUpdated, takeSlot } from "./rules.ts";

/** `userId` (an owner or admin) renames the group or changes its avatar. */
export interface UpdateRoomCommand {
  kind: "updateRoom";
  userId: string;
  name?: string;
  avatar?: string | null;
}

export const updateRoom = defineCommand({
  facts: ["rateLogs"],
  emits: ["room.updated"],
  actor: (cmd: UpdateRoomCommand) => cmd.userId,
  needs: (cmd: UpdateRoomCommand) => ({ rateLogs: { kind: "write", userId: cmd.userId } }),
  apply(work, cmd: UpdateRoomCommand, options): { changed: boolean } {
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
  },
});
