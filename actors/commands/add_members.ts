/** @module The `addMembers` command: puts users into a group (former members come back). */
import { HttpError } from "../../http_error.ts";
import { MAX_GROUP_MEMBERS, MAX_HEAD_BYTES } from "../../limits.ts";
import { activeMemberIds, forgetFormerMembers, isActive, isModerator, memberOf } from "../room_head.ts";
import { defineCommand } from "./command.ts";
import { assertMayAdd, assertMemberKeysFit, groupRoom, newMember, takeSlot } from "./rules.ts";

/** `userId` (an owner or admin) adds `memberIds`. */
export interface AddMembersCommand {
  kind: "addMembers";
  userId: string;
  memberIds: string[];
}

/** The members who were not active before (re-added former members included). */
export interface AddMembersResult {
  added: string[];
}

export const addMembers = defineCommand({
  facts: ["blocks", "rateLogs"],
  emits: ["member.added"],
  actor: (cmd: AddMembersCommand) => cmd.userId,
  needs: (cmd: AddMembersCommand) => ({
    blocks: { addedBy: cmd.userId, userIds: cmd.memberIds.filter((id) => id !== cmd.userId) },
    rateLogs: { kind: "write", userId: cmd.userId },
  }),
  apply(work, cmd: AddMembersCommand, options): AddMembersResult {
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
  },
});
