/** @module `/api/chat/*`: sending, rooms, message pages, read positions, groups. */
import { createRoute } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../auth/middleware.ts";
import {
  type ChatDeps,
  createGroup,
  listRoomMessages,
  listRooms,
  markRead,
  sendMessage,
  startDirect,
} from "../chat/service.ts";
import {
  AcceptedResponse,
  GroupBody,
  MessagesQuery,
  MessagesResponse,
  ReadBody,
  ReadResponse,
  RoomIdResponse,
  RoomsQuery,
  RoomsResponse,
  SendBody,
  SendResponse,
  StartBody,
  TypingBody,
} from "./schemas.ts";
import { apiRouter, errors, jsonBody, ok } from "./validate.ts";

const tags = ["Chat"];
const security = [{ bearer: [] }];

const send = createRoute({
  method: "post",
  path: "/send",
  tags,
  security,
  summary: "Send a message",
  description:
    "Stores the message and returns it. Exactly one of `receiverId` (direct room, created on first message) and `roomId`. " +
    "With `clientMessageId`, a retry returns the original message and creates nothing.",
  request: jsonBody(SendBody),
  responses: { ...ok(SendResponse, "The stored message"), ...errors(400, 401, 403, 404, 413, 415, 429, 503) },
});

const rooms = createRoute({
  method: "get",
  path: "/rooms",
  tags,
  security,
  summary: "List the caller's rooms",
  description:
    "Newest activity first. `archived=true` lists only archived rooms. `totalUnread` counts every active room.",
  request: { query: RoomsQuery },
  responses: { ...ok(RoomsResponse, "A page of rooms"), ...errors(400, 401) },
});

const messages = createRoute({
  method: "get",
  path: "/messages",
  tags,
  security,
  summary: "Page through a room's messages",
  description:
    "Newest first; `beforeId` pages to older messages; `afterSeq` returns messages after that seq, oldest " +
    "first (gap filling). The newest page (no cursor) marks the room read for the caller.",
  request: { query: MessagesQuery },
  responses: { ...ok(MessagesResponse, "A page of messages"), ...errors(400, 401, 403, 404) },
});

const start = createRoute({
  method: "post",
  path: "/start",
  tags,
  security,
  summary: "Open the direct room with a user",
  request: jsonBody(StartBody),
  responses: { ...ok(RoomIdResponse, "The direct room, the same every time"), ...errors(400, 401, 404, 415) },
});

const read = createRoute({
  method: "post",
  path: "/read",
  tags,
  security,
  summary: "Mark messages read",
  description:
    "Moves the caller's read position to the newest of `messageIds`, or to the last message. Never backwards.",
  request: jsonBody(ReadBody),
  responses: {
    ...ok(ReadResponse, "The caller's unread count in the room"),
    ...errors(400, 401, 403, 404, 415),
  },
});

const typing = createRoute({
  method: "post",
  path: "/typing",
  tags,
  security,
  summary: "Show or hide a typing indicator",
  description:
    "Published at once on the room channel as `user-typing`; never stored, may be dropped under overload.",
  request: jsonBody(TypingBody),
  responses: {
    202: { content: { "application/json": { schema: AcceptedResponse } }, description: "Accepted" },
    ...errors(400, 401, 403, 404, 415),
  },
});

const groups = createRoute({
  method: "post",
  path: "/groups",
  tags,
  security,
  summary: "Create a group",
  description: "The caller becomes its owner; every member must exist.",
  request: jsonBody(GroupBody),
  responses: { ...ok(RoomIdResponse, "The new group"), ...errors(400, 401, 404, 415) },
});

/** The chat routes, mounted at `/api/chat`. */
export function chatRoutes(deps: ChatDeps): OpenAPIHono<AppEnv> {
  return apiRouter()
    .openapi(send, async (c) => {
      const { receiverId, roomId, ...input } = c.req.valid("json");
      const to = receiverId !== undefined ? { receiverId } : { roomId: roomId! };
      const message = await sendMessage(deps, c.var.user, to, input);
      return c.json({ success: true as const, message }, 200);
    })
    .openapi(rooms, async (c) => {
      const page = await listRooms(deps, c.var.user, c.req.valid("query"));
      return c.json({ success: true as const, ...page }, 200);
    })
    .openapi(messages, async (c) => {
      const { roomId, limit, beforeId, afterSeq } = c.req.valid("query");
      const page = beforeId !== undefined
        ? { limit, beforeId }
        : afterSeq !== undefined
        ? { limit, afterSeq }
        : { limit };
      const result = await listRoomMessages(deps, c.var.user, roomId, page);
      return c.json({ success: true as const, ...result }, 200);
    })
    .openapi(start, async (c) => {
      const roomId = await startDirect(deps, c.var.user, c.req.valid("json").receiverId);
      return c.json({ success: true as const, roomId }, 200);
    })
    .openapi(read, async (c) => {
      const unreadCount = await markRead(deps, c.var.user, c.req.valid("json"));
      return c.json({ success: true as const, unreadCount }, 200);
    })
    .openapi(typing, async (c) => {
      const { roomId, isTyping } = c.req.valid("json");
      await deps.actors.typing(roomId, c.var.user, isTyping);
      return c.json({ success: true as const }, 202);
    })
    .openapi(groups, async (c) => {
      const roomId = await createGroup(deps, c.var.user, c.req.valid("json"));
      return c.json({ success: true as const, roomId }, 200);
    });
}
