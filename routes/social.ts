/** @module `/api/users/*` (profiles, follow, block) and `/api/notifications/*`. */
import { createRoute } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../auth/middleware.ts";
import { HttpError } from "../http_error.ts";
import { block, unblock } from "../social/blocks.ts";
import type { SocialDeps } from "../social/deps.ts";
import { follow, listFollows, unfollow } from "../social/follows.ts";
import { GROUP_ADDED_PER_HOUR } from "../social/group_added.ts";
import { listNotifications, markNotificationsRead, unreadNotifications } from "../social/notifications.ts";
import { userProfile } from "../social/profiles.ts";
import type { Profile } from "../storage/records.ts";
import {
  BlockResponse,
  FollowResponse,
  NotificationsQuery,
  NotificationsResponse,
  PageQuery,
  ReadNotificationsBody,
  UnreadCountResponse,
  UserIdParam,
  UserResponse,
  UsersPageResponse,
} from "./social_schemas.ts";
import { apiRouter, errors, jsonBody, ok } from "./validate.ts";

const security = [{ bearer: [] }];

type PageOptions = { limit: number; cursor?: string };
const users = ["Social"];

const getUser = createRoute({
  operationId: "getUser",
  method: "get",
  path: "/{id}",
  tags: users,
  security,
  summary: "A user's profile",
  description:
    "Presence (`online`, `lastSeenAt`), follower and following counts, and how the caller relates to " +
    "the user (`isFollowing`, `followsYou`, `isBlocked`).",
  request: { params: UserIdParam },
  responses: { ...ok(UserResponse, "The user"), ...errors(400, 401, 404) },
});

const followRoute = (method: "post" | "delete") =>
  createRoute({
    method,
    path: "/{id}/follow",
    operationId: method === "post" ? "followUser" : "unfollowUser",
    tags: users,
    security,
    summary: method === "post" ? "Follow a user" : "Stop following a user",
    description: method === "post"
      ? 'Idempotent. A new follow notifies the followee (`type: "follow"`, title `"{name} started following ' +
        'you"`, `metadata {actorId, actorName, actorAvatar}`, link `/users/{id}`); following again, or again ' +
        "within 24 hours of an unfollow, notifies nobody. 403 when either user blocked the other."
      : "Idempotent: unfollowing someone you do not follow succeeds with `changed: false`.",
    request: { params: UserIdParam },
    responses: {
      ...ok(FollowResponse, "The followee's profile after the change"),
      ...errors(...(method === "post" ? [400, 401, 403, 404, 503] as const : [400, 401, 404, 503] as const)),
    },
  });

const blockRoute = (method: "post" | "delete") =>
  createRoute({
    method,
    path: "/{id}/block",
    operationId: method === "post" ? "blockUser" : "unblockUser",
    tags: users,
    security,
    summary: method === "post" ? "Block a user" : "Unblock a user",
    description: method === "post"
      ? "Idempotent. While either user blocks the other, neither can send the other direct messages or open a " +
        "direct room with them (403), and neither can follow the other; blocking removes the follows between " +
        "them both ways. Group rooms are not affected."
      : "Idempotent. Follows removed by the block are not restored.",
    request: { params: UserIdParam },
    responses: {
      ...ok(BlockResponse, "Whether the caller now blocks the user"),
      ...errors(400, 401, 404, 503),
    },
  });

const followList = (direction: "followers" | "following") =>
  createRoute({
    method: "get",
    path: `/{id}/${direction}`,
    operationId: direction === "followers" ? "listFollowers" : "listFollowing",
    tags: users,
    security,
    summary: direction === "followers" ? "Who follows a user" : "Whom a user follows",
    description: "In user id order; pass `nextCursor` as `cursor` for the next page.",
    request: { params: UserIdParam, query: PageQuery },
    responses: { ...ok(UsersPageResponse, "A page of users"), ...errors(400, 401, 404) },
  });

/** The user routes, mounted at `/api/users`. */
export function userRoutes(deps: SocialDeps): OpenAPIHono<AppEnv> {
  const changeFollow = async (change: typeof follow, user: Profile, id: string) => {
    const changed = await change(deps, user, id);
    return { success: true as const, changed, user: await userProfile(deps, user, id) };
  };
  const listPage = async (id: string, direction: "followers" | "following", page: PageOptions) => {
    if ((await deps.users.get(id)) === null) throw new HttpError(404, "User not found");
    const { userIds, nextCursor } = await listFollows(deps.kv, id, direction, page);
    const profiles = await deps.users.profiles(userIds);
    return { success: true as const, users: userIds.flatMap((u) => profiles.get(u) ?? []), nextCursor };
  };
  return apiRouter()
    .openapi(getUser, async (c) => {
      const user = await userProfile(deps, c.var.user, c.req.valid("param").id);
      return c.json({ success: true as const, ...user }, 200);
    })
    .openapi(followRoute("post"), async (c) => {
      return c.json(await changeFollow(follow, c.var.user, c.req.valid("param").id), 200);
    })
    .openapi(followRoute("delete"), async (c) => {
      return c.json(await changeFollow(unfollow, c.var.user, c.req.valid("param").id), 200);
    })
    .openapi(blockRoute("post"), async (c) => {
      const changed = await block(deps, c.var.user, c.req.valid("param").id);
      return c.json({ success: true as const, changed, isBlocked: true }, 200);
    })
    .openapi(blockRoute("delete"), async (c) => {
      const changed = await unblock(deps, c.var.user, c.req.valid("param").id);
      return c.json({ success: true as const, changed, isBlocked: false }, 200);
    })
    .openapi(followList("followers"), async (c) => {
      return c.json(await listPage(c.req.valid("param").id, "followers", c.req.valid("query")), 200);
    })
    .openapi(followList("following"), async (c) => {
      return c.json(await listPage(c.req.valid("param").id, "following", c.req.valid("query")), 200);
    });
}

const notifications = ["Notifications"];

const listRoute = createRoute({
  operationId: "listNotifications",
  method: "get",
  path: "/",
  tags: notifications,
  security,
  summary: "The caller's notifications",
  description: "Social events (follows, being added to a group, …), newest first; `before` pages to older " +
    "ones (pass `nextCursor`). Chat messages are not notifications: rooms count them as unread. " +
    "`group.added` (someone created a group with you in it, or added you to one) is written from the " +
    "membership commit's outbox, moments after that request returned, exactly once even across crashes; " +
    `one user's adds notify you at most ${GROUP_ADDED_PER_HOUR} times in any rolling hour (later adds still ` +
    "add you, without a notification or push).",
  request: { query: NotificationsQuery },
  responses: { ...ok(NotificationsResponse, "A page of notifications"), ...errors(400, 401) },
});

const unreadRoute = createRoute({
  operationId: "getNotificationUnreadCount",
  method: "get",
  path: "/unread-count",
  tags: notifications,
  security,
  summary: "How many notifications are unread",
  responses: { ...ok(UnreadCountResponse, "The unread count"), ...errors(401) },
});

const readRoute = createRoute({
  operationId: "markNotificationsRead",
  method: "post",
  path: "/read",
  tags: notifications,
  security,
  summary: "Mark notifications read",
  description:
    "The given `ids`, or all of them when `ids` is absent. Unknown and already read ids are ignored.",
  request: jsonBody(ReadNotificationsBody),
  responses: { ...ok(UnreadCountResponse, "The unread count after"), ...errors(400, 401, 415, 503) },
});

/** The notification routes, mounted at `/api/notifications`. */
export function notificationRoutes(deps: SocialDeps): OpenAPIHono<AppEnv> {
  return apiRouter()
    .openapi(listRoute, async (c) => {
      const page = await listNotifications(deps.kv, c.var.user.id, c.req.valid("query"));
      return c.json({ success: true as const, ...page }, 200);
    })
    .openapi(unreadRoute, async (c) => {
      const unreadCount = await unreadNotifications(deps.kv, c.var.user.id);
      return c.json({ success: true as const, unreadCount }, 200);
    })
    .openapi(readRoute, async (c) => {
      const unreadCount = await markNotificationsRead(deps, c.var.user.id, c.req.valid("json").ids);
      return c.json({ success: true as const, unreadCount }, 200);
    });
}
