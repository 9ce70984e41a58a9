/**
 * @module A user's public profile as another user sees it (`GET /api/users/:id`),
 * and the caller's own (`GET /api/me`): each a handful of point reads.
 */
import type { MeView, UserView } from "../api/views.ts";
import { HttpError } from "../http_error.ts";
import { keys } from "../storage/keys.ts";
import { getPreferences } from "../storage/preferences.ts";
import { presenceAt, type PresenceRecord } from "../storage/presence.ts";
import type { Presence, Profile, UserRecord } from "../storage/records.ts";
import { readUnreadTotal } from "../storage/room_reads.ts";
import { counterValue } from "../storage/counters.ts";
import type { SocialDeps } from "./deps.ts";
import { unreadNotifications } from "./notifications.ts";

/** What a profile view is built from besides the user record. */
export interface ProfileFacts {
  presence: Presence | null;
  followers: number;
  following: number;
  isFollowing: boolean;
  followsYou: boolean;
  isBlocked: boolean;
  /** The user blocked the viewer. */
  blocksViewer: boolean;
}

/** Shapes a user for a viewer; a viewer the user blocked does not see their presence. Pure. */
export function userView(user: UserRecord, facts: ProfileFacts): UserView {
  const presence = facts.blocksViewer ? null : facts.presence;
  const lastSeenAt = presence?.lastSeenAt ?? null;
  return {
    id: user.id,
    name: user.name,
    avatar: user.avatar,
    online: presence?.online ?? false,
    lastSeenAt: lastSeenAt === null ? null : new Date(lastSeenAt).toISOString(),
    followers: facts.followers,
    following: facts.following,
    isFollowing: facts.isFollowing,
    followsYou: facts.followsYou,
    isBlocked: facts.isBlocked,
  };
}

/**
 * The user as `viewer` sees them.
 *
 * @throws {HttpError} 404 when no such user exists.
 */
export async function userProfile(deps: SocialDeps, viewer: Profile, userId: string): Promise<UserView> {
  const user = await deps.users.get(userId);
  if (user === null) throw new HttpError(404, "User not found");
  return userView(user, await profileFacts(deps.kv, viewer.id, userId));
}

/** The caller's own profile, preferences and unread totals. */
export async function meProfile(deps: SocialDeps, me: Profile): Promise<MeView> {
  const [user, facts, preferences, unread, totalUnread] = await Promise.all([
    deps.users.get(me.id),
    profileFacts(deps.kv, me.id, me.id),
    getPreferences(deps.kv, me.id),
    unreadNotifications(deps.kv, me.id),
    readUnreadTotal(deps.kv, me.id),
  ]);
  const record: UserRecord = user ?? { ...me, createdAt: 0, updatedAt: 0 };
  const { isFollowing: _f, followsYou: _y, isBlocked: _b, ...view } = userView(record, facts);
  return { ...view, preferences, unreadNotifications: unread, totalUnread };
}

/** One `getMany`: presence, both counters and the relations (follows, blocks) between viewer and user. */
async function profileFacts(kv: Deno.Kv, viewerId: string, userId: string): Promise<ProfileFacts> {
  const [presence, followers, following, isFollowing, followsYou, isBlocked, blocksViewer] = await kv.getMany(
    [
      keys.presence(userId),
      keys.followersCount(userId),
      keys.followingCount(userId),
      keys.follow(viewerId, userId),
      keys.follow(userId, viewerId),
      keys.block(viewerId, userId),
      keys.block(userId, viewerId),
    ],
  );
  return {
    presence: presenceAt(presence.value as PresenceRecord | null, Date.now()),
    followers: counterValue(followers),
    following: counterValue(following),
    isFollowing: isFollowing.value !== null,
    followsYou: followsYou.value !== null,
    isBlocked: isBlocked.value !== null,
    blocksViewer: blocksViewer.value !== null,
  };
}
