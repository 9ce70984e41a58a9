/**
 * @module Blocking: a block stops direct messages between the two users (both
 * ways), new follows between them and the blocked user putting the blocker
 * into groups, and removes their follow edges in the blocking commit. Groups
 * both already belong to are not affected.
 */
import type { CommitUnit } from "../storage/commit_batcher.ts";
import { estimateBytes } from "../storage/kv_size.ts";
import { keys } from "../storage/keys.ts";
import type { BlockRecord, FollowEdge, Profile } from "../storage/records.ts";
import { commitRetrying, emptyUnit } from "../storage/commit_retry.ts";
import { sumMutation } from "../storage/counters.ts";
import type { SocialDeps } from "./deps.ts";
import { removeEdge, requireOther } from "./follows.ts";
import { type IdPage, listIdPage } from "../storage/id_page.ts";
import { parseKey } from "../storage/key_parsers.ts";
import { lockFor } from "./keyed_lock.ts";

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
        bumpBlockedEpoch(unit, targetId);
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
      bumpBlockedEpoch(unit, targetId);
      return { unit, result: true };
    }));
}

/**
 * Changes the versionstamp of `blockedId`'s block epoch: group creation and
 * adds by `blockedId` read whether the users they add blocked them and check
 * this one key, which every block or unblock of `blockedId` moves.
 */
function bumpBlockedEpoch(unit: CommitUnit, blockedId: string): void {
  const key = keys.blockedEpoch(blockedId);
  unit.mutations.push(sumMutation(key, 1));
  unit.bytes += estimateBytes(key) + 16;
}

/** The users `userId` blocked, in id order. */
export function listBlocked(
  kv: Deno.Kv,
  userId: string,
  options: { limit: number; cursor?: string },
): Promise<IdPage> {
  return listIdPage(kv, keys.blocks(userId), { ...options, idOf: (key) => parseKey.block(key).blockedId });
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
