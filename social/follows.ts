/**
 * @module Follow and unfollow: an edge stored both ways and two `Deno.KvU64`
 * counters changed in the same commit, so counts equal the edge sets under any
 * concurrency. A new follow notifies the followee in that commit too.
 */
import { HttpError } from "../http_error.ts";
import type { CommitUnit } from "../storage/commit_batcher.ts";
import { estimateBytes } from "../storage/kv_size.ts";
import { keys } from "../storage/keys.ts";
import type { FollowEdge, Profile } from "../storage/records.ts";
import { counterValue, sumMutation } from "../storage/counters.ts";
import { commitRetrying, emptyUnit } from "../storage/commit_retry.ts";
import type { SocialDeps } from "./deps.ts";
import { type IdPage, listIdPage } from "../storage/id_page.ts";
import { parseKey } from "../storage/key_parsers.ts";
import { lockFor } from "./keyed_lock.ts";
import { type NotificationInput, NotificationWriter } from "./notifications.ts";

/** A re-follow within this time after a follow notification does not notify again. */
export const FOLLOW_NOTIFY_QUIET_MS = 24 * 3600 * 1000;

/**
 * The notification a follow sends the followee. Pure.
 *
 * @example
 * ```ts
 * followNotification({ id: "alice", name: "Alice", avatar: null }).title; // "Alice started following you"
 * ```
 */
export function followNotification(actor: Profile): NotificationInput {
  return {
    type: "follow",
    title: `${actor.name} started following you`,
    body: "",
    link: `/users/${encodeURIComponent(actor.id)}`,
    metadata: { actorId: actor.id, actorName: actor.name, actorAvatar: actor.avatar },
  };
}

/**
 * Makes `actor` follow `targetId`. Idempotent: following again changes nothing
 * and notifies nobody. Returns whether an edge was created.
 *
 * @throws {HttpError} 400 oneself, 404 unknown user, 403 when either blocked the other, 503 contended.
 */
export async function follow(deps: SocialDeps, actor: Profile, targetId: string): Promise<boolean> {
  await requireOther(deps, actor.id, targetId, "follow");
  const { kv } = deps;
  return await lockFor(kv).run([targetId], () =>
    commitRetrying(deps.batcher, async () => {
      const [edge, blocked, blockedBy, notified] = await kv.getMany<[FollowEdge, unknown, unknown, unknown]>([
        keys.follow(actor.id, targetId),
        keys.block(actor.id, targetId),
        keys.block(targetId, actor.id),
        keys.followNotified(actor.id, targetId),
      ]);
      if (blocked.value !== null) throw new HttpError(403, "Unblock this user to follow them");
      if (blockedBy.value !== null) throw new HttpError(403, "You cannot follow this user");
      if (edge.value !== null) return { unit: null, result: false };
      const now = Date.now();
      const value: FollowEdge = { createdAt: now };
      const unit = emptyUnit();
      // A block committed after these reads fails the check, so no edge survives a block.
      unit.checks.push(edge, blocked, blockedBy);
      unit.mutations.push(
        { type: "set", key: edge.key, value },
        { type: "set", key: keys.follower(targetId, actor.id), value },
        sumMutation(keys.followingCount(actor.id), 1),
        sumMutation(keys.followersCount(targetId), 1),
      );
      unit.bytes += 4 * estimateBytes(edge.key, value);
      if (notified.value === null) {
        const writer = await NotificationWriter.open(kv, [targetId], { push: deps.push });
        writer.add(targetId, followNotification(actor), now);
        writer.writeTo(unit);
        unit.checks.push(notified);
        unit.mutations.push({ type: "set", key: notified.key, value: now, expireIn: FOLLOW_NOTIFY_QUIET_MS });
        unit.bytes += estimateBytes(notified.key, now);
      }
      return { unit, result: true };
    }));
}

/**
 * Makes `actor` stop following `targetId`. Idempotent. Returns whether an edge was removed.
 *
 * @throws {HttpError} 400 oneself, 404 unknown user, 503 contended.
 */
export async function unfollow(deps: SocialDeps, actor: Profile, targetId: string): Promise<boolean> {
  await requireOther(deps, actor.id, targetId, "unfollow");
  return await lockFor(deps.kv).run([targetId], () =>
    commitRetrying(deps.batcher, async () => {
      const edge = await deps.kv.get<FollowEdge>(keys.follow(actor.id, targetId));
      if (edge.value === null) return { unit: null, result: false };
      const unit = emptyUnit();
      unit.checks.push(edge);
      removeEdge(unit, actor.id, targetId);
      return { unit, result: true };
    }));
}

/**
 * Adds the removal of an edge to a unit: both rows deleted, both counters
 * decreased by one. The caller checks the edge it read, so it surely exists.
 */
export function removeEdge(unit: CommitUnit, followerId: string, followeeId: string): void {
  const key = keys.follow(followerId, followeeId);
  unit.mutations.push(
    { type: "delete", key },
    { type: "delete", key: keys.follower(followeeId, followerId) },
    sumMutation(keys.followingCount(followerId), -1),
    sumMutation(keys.followersCount(followeeId), -1),
  );
  unit.bytes += 4 * estimateBytes(key);
}

/** How many users follow `userId`, and how many they follow. */
export async function followCounts(
  kv: Deno.Kv,
  userId: string,
): Promise<{ followers: number; following: number }> {
  const [followers, following] = await kv.getMany([keys.followersCount(userId), keys.followingCount(userId)]);
  return { followers: counterValue(followers), following: counterValue(following) };
}

/** Who follows `userId` (`"followers"`) or whom they follow (`"following"`), in id order. */
export function listFollows(
  kv: Deno.Kv,
  userId: string,
  direction: "followers" | "following",
  options: { limit: number; cursor?: string },
): Promise<IdPage> {
  return direction === "followers"
    ? listIdPage(kv, keys.followers(userId), { ...options, idOf: (key) => parseKey.follower(key).followerId })
    : listIdPage(kv, keys.following(userId), { ...options, idOf: (key) => parseKey.follow(key).followeeId });
}

/**
 * Refuses oneself and unknown users.
 *
 * @throws {HttpError} 400 when `targetId` is the actor, 404 when no such user exists.
 */
export async function requireOther(
  deps: SocialDeps,
  actorId: string,
  targetId: string,
  verb: string,
): Promise<void> {
  if (targetId === actorId) throw new HttpError(400, `Cannot ${verb} yourself`);
  if ((await deps.users.get(targetId)) === null) throw new HttpError(404, "User not found");
}
