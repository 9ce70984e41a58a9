/** @module `/api/me`: the caller's own profile, preferences and unread totals, and whom they blocked. */
import { createRoute } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../auth/middleware.ts";
import { listBlocked } from "../social/blocks.ts";
import type { SocialDeps } from "../social/deps.ts";
import { meProfile } from "../social/profiles.ts";
import { getPreferences, putPreferences } from "../storage/preferences.ts";
import { PageQuery, PreferencesBody, PreferencesResponse, UsersPageResponse } from "./social_schemas.ts";
import { MeResponse } from "../api/views.ts";
import { apiRouter, errors, jsonBody, ok } from "./validate.ts";

const tags = ["Me"];
const security = [{ bearer: [] }];

const me = createRoute({
  operationId: "getMe",
  method: "get",
  path: "/",
  tags,
  security,
  summary: "The caller",
  description: "The caller's profile, presence and follow counts, their preferences, their unread " +
    "notifications (`unreadNotifications`) and unread messages over every active room (`totalUnread`).",
  responses: { ...ok(MeResponse, "The caller"), ...errors(401) },
});

const getPrefs = createRoute({
  operationId: "getPreferences",
  method: "get",
  path: "/preferences",
  tags,
  security,
  summary: "The caller's notification preferences",
  description: "Defaults for a user who never set them: push and in-app on, no player id, no muted rooms.",
  responses: { ...ok(PreferencesResponse, "The preferences"), ...errors(401) },
});

const putPrefs = createRoute({
  operationId: "updatePreferences",
  method: "put",
  path: "/preferences",
  tags,
  security,
  summary: "Change notification preferences",
  description: "Fields left out keep their value; `mutedRoomIds` replaces the list (at most 200 room ids). " +
    "`enableAllPush: false` stops every push (messages and notifications); muted rooms send no push. " +
    "`enableAllInApp: false` stops the realtime `notification` event only: notifications are still stored, " +
    "listed and counted unread. `oneSignalPlayerId` (or null) targets that OneSignal subscription instead of " +
    "the user's external id.",
  request: jsonBody(PreferencesBody),
  responses: { ...ok(PreferencesResponse, "The preferences after the change"), ...errors(400, 401, 415) },
});

const blocked = createRoute({
  operationId: "listBlockedUsers",
  method: "get",
  path: "/blocked",
  tags,
  security,
  summary: "Users the caller blocked",
  description: "In user id order; pass `nextCursor` as `cursor` for the next page.",
  request: { query: PageQuery },
  responses: { ...ok(UsersPageResponse, "A page of users"), ...errors(400, 401) },
});

/** The caller's own routes, mounted at `/api/me`. */
export function meRoutes(deps: SocialDeps): OpenAPIHono<AppEnv> {
  return apiRouter()
    .openapi(me, async (c) => {
      return c.json({ success: true as const, ...await meProfile(deps, c.var.user) }, 200);
    })
    .openapi(getPrefs, async (c) => {
      return c.json({ success: true as const, ...await getPreferences(deps.kv, c.var.user.id) }, 200);
    })
    .openapi(putPrefs, async (c) => {
      const preferences = await putPreferences(deps.kv, c.var.user.id, c.req.valid("json"));
      return c.json({ success: true as const, ...preferences }, 200);
    })
    .openapi(blocked, async (c) => {
      const { userIds, nextCursor } = await listBlocked(deps.kv, c.var.user.id, c.req.valid("query"));
      const profiles = await deps.users.profiles(userIds);
      return c.json({
        success: true as const,
        users: userIds.flatMap((u) => profiles.get(u) ?? []),
        nextCursor,
      }, 200);
    });
}
