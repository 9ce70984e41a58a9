/** @module The console's read-only browser under `/api/admin`: users, rooms with their members, messages. */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { inspectMessage, inspectRoom, inspectUser, listRoomMessages } from "../admin/browse.ts";
import type { AppEnv } from "../auth/middleware.ts";
import { HttpError } from "../http_error.ts";
import type { UserStore } from "../storage/users.ts";
import {
  AdminMessageResponse,
  AdminMessagesQuery,
  AdminMessagesResponse,
  AdminRoomResponse,
  AdminUserResponse,
} from "./admin_schemas.ts";
import { ErrorSchema, Id } from "./schemas.ts";
import { errors, ok } from "./validate.ts";

const admin = { tags: ["Admin"], security: [{ adminKey: [] }] };
const notFound = (what: string) => ({
  404: {
    content: { "application/json": { schema: ErrorSchema } },
    description: `No such ${what}, or the admin API is off`,
  },
});
const IdParam = (example: string) =>
  z.object({ id: Id.openapi({ param: { name: "id", in: "path" }, example }) });

const user = createRoute({
  ...admin,
  operationId: "getAdminUser",
  method: "get",
  path: "/users/{id}",
  summary: "Look up a user",
  description: "The stored profile, presence, unread total and the 50 most recently active rooms with the " +
    "user's role and unread count. Read-only; no tokens or push subscription ids.",
  request: { params: IdParam("alice") },
  responses: { ...ok(AdminUserResponse, "The user"), ...errors(400, 401), ...notFound("user") },
});

const room = createRoute({
  ...admin,
  operationId: "getAdminRoom",
  method: "get",
  path: "/rooms/{id}",
  summary: "Look up a room",
  description: "The room head: type, name, last seq, and every member (former ones too) with role, read " +
    "position (`readSeq`, `readAt`) and unread count.",
  request: { params: IdParam("g_1") },
  responses: { ...ok(AdminRoomResponse, "The room"), ...errors(400, 401), ...notFound("room") },
});

const messages = createRoute({
  ...admin,
  operationId: "listAdminRoomMessages",
  method: "get",
  path: "/rooms/{id}/messages",
  summary: "A room's latest messages",
  description: "Newest first, deleted ones included (with `deletedAt`), below `beforeSeq` when given.",
  request: { params: IdParam("g_1"), query: AdminMessagesQuery },
  responses: { ...ok(AdminMessagesResponse, "The messages"), ...errors(400, 401), ...notFound("room") },
});

const message = createRoute({
  ...admin,
  operationId: "getAdminMessage",
  method: "get",
  path: "/messages/{id}",
  summary: "A message and its versions",
  description: "The stored message (deleted or not) and every earlier content it had, oldest first.",
  request: {
    params: z.object({
      id: z.string().min(3).max(160).openapi({ param: { name: "id", in: "path" }, example: "g_1:42" }),
    }),
  },
  responses: {
    ...ok(AdminMessageResponse, "The message and its versions"),
    ...errors(401),
    ...notFound("message"),
  },
});

/** The browser routes' definitions (paths relative to `/api/admin`), for the OpenAPI document. */
export const BROWSE_ROUTES = [user, room, messages, message];

/** Adds the browser routes to the admin sub-app (which checks the admin key first). */
export function addBrowseRoutes(
  app: OpenAPIHono<AppEnv>,
  deps: { kv: Deno.Kv; users: UserStore },
): OpenAPIHono<AppEnv> {
  return app
    .openapi(user, async (c) => {
      const found = await inspectUser(deps.kv, deps.users, c.req.valid("param").id);
      if (!found) throw new HttpError(404, "User not found");
      return c.json({ success: true as const, user: found }, 200);
    })
    .openapi(room, async (c) => {
      const found = await inspectRoom(deps.kv, c.req.valid("param").id);
      if (!found) throw new HttpError(404, "Room not found");
      return c.json({ success: true as const, room: found }, 200);
    })
    .openapi(messages, async (c) => {
      const { id } = c.req.valid("param");
      if (!(await inspectRoom(deps.kv, id))) throw new HttpError(404, "Room not found");
      const list = await listRoomMessages(deps.kv, id, c.req.valid("query"));
      return c.json({ success: true as const, messages: list }, 200);
    })
    .openapi(message, async (c) => {
      const found = await inspectMessage(deps.kv, c.req.valid("param").id);
      if (!found) throw new HttpError(404, "Message not found");
      return c.json({ success: true as const, ...found }, 200);
    });
}
