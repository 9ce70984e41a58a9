/**
 * @module What follows from a room head alone: membership, unread counts and
 * read receipts. Derived rather than stored, so they cannot drift.
 */
import type { Member, RoomState } from "../storage/records.ts";

/** Whether the member still belongs to the room (has not left or been removed). */
export function isActive(member: Member | undefined): member is Member {
  return member !== undefined && member.leftSeq === undefined;
}

/** Ids of the room's active members. */
export function activeMemberIds(state: RoomState): string[] {
  return Object.keys(state.members).filter((id) => isActive(state.members[id]));
}

/**
 * Messages after the member's read position that are not deleted. Every one of
 * them is another member's, because sending moves the sender's read position.
 * Members who left count nothing.
 */
export function unreadCount(state: RoomState, userId: string): number {
  const member = state.members[userId];
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
  return others.length > 0 && others.every((id) => state.members[id]!.readSeq >= seq);
}

/** When the last of the other members read up to `seq`, if they all have. */
export function readAtByOthers(state: RoomState, senderId: string, seq: number): number | null {
  if (!isReadByOthers(state, senderId, seq)) return null;
  const times = activeMemberIds(state).filter((id) => id !== senderId)
    .map((id) => state.members[id]!.readAt ?? 0);
  return Math.max(...times);
}

/** Drops deleted seqs that every active member has already read past. */
export function pruneDeletedUnread(state: RoomState): void {
  const reads = activeMemberIds(state).map((id) => state.members[id]!.readSeq);
  const floor = reads.length > 0 ? Math.min(...reads) : state.lastSeq;
  state.deletedUnread = state.deletedUnread.filter((seq) => seq > floor);
}

/** The other member of a direct room; undefined for groups. */
export function directPeer(state: RoomState, userId: string): string | undefined {
  return state.type === "DIRECT" ? Object.keys(state.members).find((id) => id !== userId) : undefined;
}
