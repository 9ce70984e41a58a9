/** @module The `setRole` command: the owner changes a member's role, or hands over ownership. */
import { HttpError } from "../../http_error.ts";
import type { Role } from "../../storage/records.ts";
import { isActive, memberOf } from "../room_head.ts";
import { defineCommand } from "./command.ts";
import { groupRoom, pushRoomUpdated, takeSlot } from "./rules.ts";

/** `userId` (the owner) gives `memberId` the role `role`. */
export interface SetRoleCommand {
  kind: "setRole";
  userId: string;
  memberId: string;
  role: Role;
}

export const setRole = defineCommand({
  facts: ["rateLogs"],
  emits: ["room.updated"],
  actor: (cmd: SetRoleCommand) => cmd.userId,
  needs: (cmd: SetRoleCommand) => ({ rateLogs: { kind: "write", userId: cmd.userId } }),
  apply(work, cmd: SetRoleCommand, options): { roles: Record<string, Role> } {
    const state = groupRoom(work, cmd.userId);
    const actor = memberOf(state, cmd.userId)!;
    if (actor.role !== "owner") throw new HttpError(403, "Only the group's owner can change roles");
    const target = memberOf(state, cmd.memberId);
    if (!isActive(target)) throw new HttpError(404, "Member not found");
    if (cmd.memberId === cmd.userId) {
      throw new HttpError(400, "role: the owner hands over ownership by making another member owner");
    }
    takeSlot(work, "write", cmd.userId, options);
    if (target.role === cmd.role) return { roles: {} };
    // One owner: when ownership moves, the old owner stays on as admin.
    const changed: [string, Role][] = cmd.role === "owner"
      ? [[cmd.memberId, "owner"], [cmd.userId, "admin"]]
      : [[cmd.memberId, cmd.role]];
    for (const [id, role] of changed) memberOf(state, id)!.role = role;
    const roles: Record<string, Role> = Object.fromEntries(changed);
    pushRoomUpdated(work, state, cmd.userId, { roles });
    return { roles };
  },
});
