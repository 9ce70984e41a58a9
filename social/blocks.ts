/**
 * @module Blocking: a block stops direct messages between the two users (both
 * ways) and new follows between them, and removes their follow edges in the
 * blocking commit. Group rooms are not affected.
 */
import { HttpError } from "../http_error.ts";
import { directPeer, memberOf } from "../actors/room_head.ts";
import { estimateBytes } from "../storage/commit_batcher.ts";
import { keys } from "../storage/keys.ts";
import type { BlockRecord, FollowEdge, Profile } from "../storage/records.ts";
import { readHead } from "../storage/room_reads.ts";
import { commitRetrying, emptyUnit, type SocialDeps } from "./commit.ts";
import { removeEdge, requireOther } from "./follows.ts";
import { type IdPage, listIdPage } from "./id_page.ts";
import { lockFor } from "./keyed_lock.ts";

/** Direct room ids start with this (see `directRoomId`); other rooms are never checked for blocks. */
const DIRECT_ROOM_PREFIX = "dm_";

/**
 * Makes `actor` block `targetId` and removes the follow edges between them,
 * both ways, in the same commit. Idempotent. Returns whether a block was added.
 *
 * @throws {HttpError} 400 oneself, 404 unknown user, 503 contended.
 */
export async function block(deps: SocialDeps, actor: Profile, targetId: string): Promise<boolean> {
  await requireOther(deps, actor.id, targetId, "block");
  return await lockFor(deps.kv).run([actor.id, targetId], () =>
    commitRetrying(deps.batcher, async () => {
      const [existing, follows, followedBy] = await deps.kv.getMany<[BlockRecord, FollowEdge, FollowEdge]>([
        keys.block(actor.id, targetId),
        keys.follow(actor.id, targetId),
        keys.follow(targetId, actor.id),
      ]);
      if (existing.value !== null && follows.value === null && followedBy.value === null) {
        return { unit: null, result: false };
      }
      const unit = emptyUnit();
      // Absent edges are checked too: a follow committed after these reads must fail this block.
      unit.checks.push(existing, follows, followedBy);
      if (existing.value === null) {
        const value: BlockRecord = { createdAt: Date.now() };
        unit.mutations.push({ type: "set", key: existing.key, value });
        unit.bytes += estimateBytes(existing.key, value);
      }
      if (follows.value !== null) removeEdge(unit, actor.id, targetId);
      if (followedBy.value !== null) removeEdge(unit, targetId, actor.id);
      return { unit, result: existing.value === null };
    }));
}

/**
 * Lifts `actor`'s block of `targetId`. Idempotent; follows removed by the block stay removed.
 * Returns whether a block was lifted.
 *
 * @throws {HttpError} 400 oneself, 404 unknown user, 503 contended.
 */
export async function unblock(deps: SocialDeps, actor: Profile, targetId: string): Promise<boolean> {
  await requireOther(deps, actor.id, targetId, "unblock");
  return await lockFor(deps.kv).run([actor.id, targetId], () =>
    commitRetrying(deps.batcher, async () => {
      const existing = await deps.kv.get<BlockRecord>(keys.block(actor.id, targetId));
      if (existing.value === null) return { unit: null, result: false };
      const unit = emptyUnit();
      unit.checks.push(existing);
      unit.mutations.push({ type: "delete", key: existing.key });
      unit.bytes += estimateBytes(existing.key);
      return { unit, result: true };
    }));
}

/** The users `userId` blocked, in id order. */
export function listBlocked(
  kv: Deno.Kv,
  userId: string,
  options: { limit: number; cursor?: string },
): Promise<IdPage> {
  return listIdPage(kv, keys.blocks(userId), options);
}

/** Whether `userId` blocked `otherId` (`blocked`) and whether `otherId` blocked them (`blockedBy`). */
export async function blockState(
  kv: Deno.Kv,
  userId: string,
  otherId: string,
): Promise<{ blocked: boolean; blockedBy: boolean }> {
  const [mine, theirs] = await kv.getMany([keys.block(userId, otherId), keys.block(otherId, userId)]);
  return { blocked: mine.value !== null, blockedBy: theirs.value !== null };
}

/**
 * Refuses a direct message (or opening a direct room) between users when
 * either blocked the other. `peerId` is the other user when known; otherwise a
 * direct `roomId` is looked up. Group rooms always pass.
 *
 * A send that races with the block request itself may still pass; every send
 * that starts after the block is committed is refused.
 *
 * @throws {HttpError} 403 when the peer blocked the sender, or the sender blocked the peer.
 */
export async function assertMayMessage(
  kv: Deno.Kv,
  senderId: string,
  to: { roomId: string; peerId?: string },
): Promise<void> {
  let peerId = to.peerId;
  if (peerId === undefined) {
    if (!to.roomId.startsWith(DIRECT_ROOM_PREFIX)) return;
    const head = (await readHead(kv, to.roomId)).value;
    // An unknown room, a group, or a room of others: the room actor answers that.
    if (head?.type !== "DIRECT" || memberOf(head, senderId) === undefined) return;
    peerId = directPeer(head, senderId);
    if (peerId === undefined) return;
  }
  const { blocked, blockedBy } = await blockState(kv, senderId, peerId);
  if (blockedBy) throw new HttpError(403, "You cannot message this user");
  if (blocked) throw new HttpError(403, "Unblock this user to message them");
}
