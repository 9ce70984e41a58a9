/** @module The `removeMember` command: a member removed by an owner or admin, or leaving. */
import { HttpError } from "../../http_error.ts";
import {
  activeMemberIds,
  isActive,
  isModerator,
  memberOf,
  pruneDeletedUnread,
  successorOf,
} from "../room_head.ts";
import { defineCommand } from "./command.ts";
import { groupRoom, pushRoomUpdated, takeSlot } from "./rules.ts";

/** `userId` removes `memberId` (themself: they leave). */
export interface RemoveMemberCommand {
  kind: "removeMember";
  userId: string;
  memberId: string;
}

/** `ownerId` is set when ownership passed on because the owner left. */
export interface RemoveMemberResult {
  left: boolean;
  ownerId?: string;
}

export const removeMember = defineCommand({
  facts: ["rateLogs"],
  emits: ["member.removed", "room.updated"],
  actor: (cmd: RemoveMemberCommand) => cmd.userId,
  needs: (cmd: RemoveMemberCommand) => ({ rateLogs: { kind: "write", userId: cmd.userId } }),
  apply(work, cmd: RemoveMemberCommand, options): RemoveMemberResult {
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
  },
});
