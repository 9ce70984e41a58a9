/** @module The `createGroup` command: a new group, or the same group again for a retried request. */
import { HttpError } from "../../http_error.ts";
import { MAX_GROUP_MEMBERS } from "../../limits.ts";
import type { Member, Profile } from "../../storage/records.ts";
import { defineCommand } from "./command.ts";
import {
  assertMayAdd,
  assertMemberKeysFit,
  canonicalJson,
  digest,
  newMember,
  newRoom,
  takeSlot,
} from "./rules.ts";

/** Creates a group owned by `creator` with `memberIds`. */
export interface CreateGroupCommand {
  kind: "createGroup";
  creator: Profile;
  name: string;
  avatar: string | null;
  memberIds: string[];
  /** Makes a retry return the group its first attempt created (the room id derives from it). */
  clientGroupId?: string;
}

export const createGroup = defineCommand({
  facts: ["blocks", "rateLogs"],
  emits: ["room.created"],
  actor: (cmd: CreateGroupCommand) => cmd.creator.id,
  needs: (cmd: CreateGroupCommand) => ({
    blocks: { addedBy: cmd.creator.id, userIds: cmd.memberIds.filter((id) => id !== cmd.creator.id) },
    rateLogs: { kind: "write", userId: cmd.creator.id },
  }),
  apply(work, cmd: CreateGroupCommand, options): { roomId: string } {
    const memberIds = [...new Set(cmd.memberIds)].filter((id) => id !== cmd.creator.id);
    const fingerprint = digest(
      canonicalJson({ name: cmd.name, avatar: cmd.avatar, memberIds: memberIds.sort() }),
    );
    if (work.state !== null) {
      const first = work.state.creation;
      if (cmd.clientGroupId === undefined || first?.clientGroupId !== cmd.clientGroupId) {
        throw new HttpError(409, "Room already exists");
      }
      if (first.fingerprint !== fingerprint) {
        throw new HttpError(409, "clientGroupId: already used for a different group");
      }
      return { roomId: work.roomId }; // a retry of the request that created it: nothing to commit
    }
    if (memberIds.length + 1 > MAX_GROUP_MEMBERS) {
      throw new HttpError(400, `memberIds: a group holds at most ${MAX_GROUP_MEMBERS} members`);
    }
    assertMayAdd(work, cmd.creator.id, memberIds);
    assertMemberKeysFit(work.roomId, [cmd.creator.id, ...memberIds], "memberIds");
    takeSlot(work, "write", cmd.creator.id, options);

    const { now } = options;
    const members = new Map<string, Member>([[cmd.creator.id, newMember("owner", now, 0)]]);
    for (const id of memberIds) members.set(id, newMember("member", now, 0));
    const state = newRoom(work.roomId, "GROUP", cmd.creator.id, now, members);
    state.name = cmd.name;
    state.avatar = cmd.avatar;
    if (cmd.clientGroupId !== undefined) state.creation = { clientGroupId: cmd.clientGroupId, fingerprint };
    work.state = state;
    work.events.push({ type: "room.created", roomId: work.roomId, memberIds: [...members.keys()] });
    return { roomId: work.roomId };
  },
});
