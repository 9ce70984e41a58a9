/**
 * @module What follows from a room head alone: membership, unread counts and
 * read receipts. Derived rather than stored, so they cannot drift.
 */
import { valueBytes } from "../storage/kv_size.ts";
import type { Member, RoomState } from "../storage/records.ts";

/** Whether the member still belongs to the room (has not left or been removed). */
export function isActive(member: Member | undefined): member is Member {
  return member !== undefined && member.leftSeq === undefined;
}

/** Ids of the room's active members. */
export function activeMemberIds(state: RoomState): string[] {
  return [...state.members].filter(([, member]) => isActive(member)).map(([id]) => id);
}

/** The member of the room with this id, active or not. */
export function memberOf(state: RoomState, userId: string): Member | undefined {
  return state.members.get(userId);
}

/** The active member with this id, who must exist (an invariant, not a client error). */
function activeMember(state: RoomState, userId: string): Member {
  const member = state.members.get(userId);
  if (!isActive(member)) throw new TypeError(`${userId} is not an active member of ${state.id}`);
  return member;
}

/**
 * Messages after the member's read position that are not deleted. Every one of
 * them is another member's, because sending moves the sender's read position.
 * Members who left count nothing.
 */
export function unreadCount(state: RoomState, userId: string): number {
  const member = state.members.get(userId);
  if (!isActive(member)) return 0;
  const deletedAfter = state.deletedUnread.filter((seq) => seq > member.readSeq).length;
  return Math.max(0, state.lastSeq - member.readSeq - deletedAfter);
}

/**
 * Whether every other active member has read message `seq` of `senderId`
 * (for a direct room: whether the other member has).
 */
export function isReadByOthers(state: RoomState, senderId: string, seq: number): boolean {
  const others = activeMemberIds(state).filter((id) => id !== senderId);
  return others.length > 0 && others.every((id) => activeMember(state, id).readSeq >= seq);
}

/** When the last of the other members read up to `seq`, if they all have. */
export function readAtByOthers(state: RoomState, senderId: string, seq: number): number | null {
  if (!isReadByOthers(state, senderId, seq)) return null;
  const times = activeMemberIds(state).filter((id) => id !== senderId)
    .map((id) => activeMember(state, id).readAt ?? 0);
  return Math.max(...times);
}

/** Drops deleted seqs that every active member has already read past. */
export function pruneDeletedUnread(state: RoomState): void {
  const reads = activeMemberIds(state).map((id) => activeMember(state, id).readSeq);
  const floor = reads.length > 0 ? Math.min(...reads) : state.lastSeq;
  state.deletedUnread = state.deletedUnread.filter((seq) => seq > floor);
}

/** The other member of a direct room; undefined for groups. */
export function directPeer(state: RoomState, userId: string): string | undefined {
  return state.type === "DIRECT" ? [...state.members.keys()].find((id) => id !== userId) : undefined;
}

/** Whether the member may administer a group: its owner or an admin. */
export function isModerator(member: Member | undefined): boolean {
  return isActive(member) && (member.role === "owner" || member.role === "admin");
}

/**
 * Who becomes owner when the owner leaves: the longest-standing admin, else the
 * longest-standing member (earliest `joinedAt`, then smallest id). Undefined
 * when nobody else is left.
 */
export function successorOf(state: RoomState, leavingId: string): string | undefined {
  const candidates = activeMemberIds(state).filter((id) => id !== leavingId);
  const rank = (id: string) => (activeMember(state, id).role === "admin" ? 0 : 1);
  candidates.sort((a, b) =>
    rank(a) - rank(b) || activeMember(state, a).joinedAt - activeMember(state, b).joinedAt ||
    (a < b ? -1 : a > b ? 1 : 0)
  );
  return candidates[0];
}

/**
 * Keeps the head under `maxBytes` by forgetting former members, those who left
 * first going first; they lose read access to the history they had. Active
 * members are never dropped (`MAX_GROUP_MEMBERS` keeps them within the budget).
 */
export function forgetFormerMembers(state: RoomState, maxBytes: number): string[] {
  const former = [...state.members].filter(([, member]) => !isActive(member))
    .sort(([, a], [, b]) => a.leftSeq! - b.leftSeq!).map(([id]) => id);
  const dropped: string[] = [];
  for (const id of former) {
    if (valueBytes(state) <= maxBytes) break;
    state.members.delete(id);
    dropped.push(id);
  }
  return dropped;
}
