/** @module `/api/chat/*`: sending, rooms, message pages, read positions, groups. */
import { createRoute } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../auth/middleware.ts";
import { INLINE_INDEX_BUDGET, searchMessages } from "../search/search.ts";
import { SEARCH_LIMIT_PER_MIN } from "../search/search_limit.ts";
import {
  addMembers,
  archiveRoom,
  type ChatDeps,
  createGroup,
  deleteMessage,
  editMessage,
  listRoomMessages,
  listRooms,
  markRead,
  messageHistory,
  removeMember,
  sendMessage,
  setMemberRole,
  startDirect,
  toggleReaction,
  updateRoom,
} from "../chat/service.ts";
import {
  AcceptedResponse,
  AddMembersBody,
  AddMembersResponse,
  ArchiveBody,
  ArchiveResponse,
  DeleteResponse,
  EditBody,
  GroupBody,
  MessageIdParam,
  MessageResponse,
  MessagesQuery,
  MessagesResponse,
  MessageVersionsResponse,
  ReactionBody,
  ReactionResponse,
  ReadBody,
  ReadResponse,
  RemoveMemberResponse,
  RoleBody,
  RoleResponse,
  RoomIdParam,
  RoomIdResponse,
  RoomMemberParams,
  RoomResponse,
  RoomsQuery,
  RoomsResponse,
  SearchQuery,
  SearchResponse,
  SendBody,
  SendResponse,
  StartBody,
  TypingBody,
  UpdateRoomBody,
} from "./schemas.ts";
import { apiRouter, errors, jsonBody, ok } from "./validate.ts";

const tags = ["Chat"];
const security = [{ bearer: [] }];

const send = createRoute({
  operationId: "sendMessage",
  method: "post",
  path: "/send",
  tags,
  security,
  summary: "Send a message",
  description:
    "Stores the message and returns it. Exactly one of `receiverId` (direct room, created on first message) and `roomId`. " +
    "With `clientMessageId`, a retry returns the original message and creates nothing (409 when the id was used " +
    "for a different message). A room the caller was never in is 404 exactly like one that does not exist; a " +
    "former member gets 403.",
  request: jsonBody(SendBody),
  responses: {
    ...ok(SendResponse, "The stored message"),
    ...errors(400, 401, 403, 404, 409, 413, 415, 429, 503),
  },
});

const rooms = createRoute({
  operationId: "listRooms",
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
  operationId: "listMessages",
  method: "get",
  path: "/messages",
  tags,
  security,
  summary: "Page through a room's messages",
  description:
    "Newest first; `beforeId` pages to older messages; `afterSeq` returns messages after that seq, oldest " +
    "first (gap filling). The newest page (no cursor) marks the room read for the caller.",
  request: { query: MessagesQuery },
  responses: { ...ok(MessagesResponse, "A page of messages"), ...errors(400, 401, 403, 404, 503) },
});

const start = createRoute({
  operationId: "startDirectRoom",
  method: "post",
  path: "/start",
  tags,
  security,
  summary: "Open the direct room with a user",
  request: jsonBody(StartBody),
  responses: {
    ...ok(RoomIdResponse, "The direct room, the same every time"),
    ...errors(400, 401, 403, 404, 415, 429, 503),
  },
});

const read = createRoute({
  operationId: "markRoomRead",
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
    ...errors(400, 401, 403, 404, 415, 503),
  },
});

const typing = createRoute({
  operationId: "setTyping",
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
    ...errors(400, 401, 403, 404, 415, 429),
  },
});

const groups = createRoute({
  operationId: "createGroup",
  method: "post",
  path: "/groups",
  tags,
  security,
  summary: "Create a group",
  description:
    "The caller becomes its owner; every member must exist (404), and none may have blocked the caller " +
    "(403). With `clientGroupId`, a retry returns the same room (409 when the id was used for a different " +
    "group). Counts against `RATE_LIMIT_WRITE_PER_MIN` (429).",
  request: jsonBody(GroupBody),
  responses: { ...ok(RoomIdResponse, "The new group"), ...errors(400, 401, 403, 404, 409, 415, 429, 503) },
});

const editMessageRoute = createRoute({
  operationId: "editMessage",
  method: "patch",
  path: "/messages/{id}",
  tags,
  security,
  summary: "Edit a message",
  description:
    "The sender only, while an active member. Every previous text is kept; the message shows `isEdited` and " +
    "`editedAt`, the room preview follows when it is the latest message, and the room channel gets " +
    "`message-updated`. The same text again changes nothing. A deleted message is 404.",
  request: { params: MessageIdParam, ...jsonBody(EditBody) },
  responses: { ...ok(MessageResponse, "The edited message"), ...errors(400, 401, 403, 404, 415, 429, 503) },
});

const versionsRoute = createRoute({
  operationId: "listMessageVersions",
  method: "get",
  path: "/messages/{id}/versions",
  tags,
  security,
  summary: "A message's edit history",
  description:
    "The message as it is now and every earlier text it had, newest first (`version` 0 is the text as sent). " +
    "For the room's members, and for members who left when the message is from before their leave; " +
    "otherwise, and for a deleted message, 404.",
  request: { params: MessageIdParam },
  responses: { ...ok(MessageVersionsResponse, "The message and its earlier versions"), ...errors(401, 404) },
});

const deleteMessageRoute = createRoute({
  operationId: "deleteMessage",
  method: "delete",
  path: "/messages/{id}",
  tags,
  security,
  summary: "Delete a message",
  description:
    "Soft delete by the sender, or in a group by its owner or an admin. The message disappears from message " +
    "pages and search, no longer counts as unread, and the room preview falls back to the previous visible " +
    "message; the room channel gets `message-deleted`, members whose unread count fell get `unread-updated`. " +
    "Idempotent: deleting a deleted message again is 200 and changes nothing.",
  request: { params: MessageIdParam },
  responses: { ...ok(DeleteResponse, "The message is deleted"), ...errors(401, 403, 404, 429, 503) },
});

const reactRoute = createRoute({
  operationId: "toggleReaction",
  method: "post",
  path: "/messages/{id}/reactions",
  tags,
  security,
  summary: "Toggle a reaction",
  description:
    "Adds the caller's reaction with `emoji`, or removes it when the caller already reacted with it. Active " +
    "members only. `emoji` is up to 32 characters without spaces (an emoji or a `:shortcode:`); a message " +
    "carries at most 20 different emojis. The room channel gets `reaction-updated`.",
  request: { params: MessageIdParam, ...jsonBody(ReactionBody) },
  responses: {
    ...ok(ReactionResponse, "The message with its reactions"),
    ...errors(400, 401, 403, 404, 415, 429, 503),
  },
});

const addMembersRoute = createRoute({
  operationId: "addMembers",
  method: "post",
  path: "/rooms/{id}/members",
  tags,
  security,
  summary: "Add members to a group",
  description:
    "The group's owner or an admin. Every user must exist (404). Members who are already in are skipped; " +
    "former members come back as members with nothing unread and see the whole history again. A group holds " +
    "at most 200 members (400). Direct rooms are 400. Sends `member-added` to the room and to every member.",
  request: { params: RoomIdParam, ...jsonBody(AddMembersBody) },
  responses: { ...ok(AddMembersResponse, "Who was added"), ...errors(400, 401, 403, 404, 415, 429, 503) },
});

const removeMemberRoute = createRoute({
  operationId: "removeMember",
  method: "delete",
  path: "/rooms/{id}/members/{userId}",
  tags,
  security,
  summary: "Remove a member, or leave",
  description:
    "With the caller's own id: leave (any member). Otherwise the owner removes anyone, an admin removes members " +
    "(not the owner or other admins), a member nobody (403). A member who left stops counting unread, drops " +
    "out of room lists and search, and keeps the history up to their leave. When the owner leaves, the " +
    "longest-standing admin becomes owner, else the longest-standing member (`ownerId`). Direct rooms are 400. " +
    "Sends `member-removed` to the room and to the removed user.",
  request: { params: RoomMemberParams },
  responses: { ...ok(RemoveMemberResponse, "The member is out"), ...errors(400, 401, 403, 404, 429, 503) },
});

const roleRoute = createRoute({
  operationId: "setMemberRole",
  method: "patch",
  path: "/rooms/{id}/members/{userId}",
  tags,
  security,
  summary: "Change a member's role",
  description:
    "The owner only. `admin` and `member` set the role; `owner` hands ownership over and the previous owner " +
    "becomes an admin. The owner cannot change their own role otherwise (400). Sends `room-updated` with `roles`.",
  request: { params: RoomMemberParams, ...jsonBody(RoleBody) },
  responses: { ...ok(RoleResponse, "The roles that changed"), ...errors(400, 401, 403, 404, 415, 429, 503) },
});

const updateRoomRoute = createRoute({
  operationId: "updateRoom",
  method: "patch",
  path: "/rooms/{id}",
  tags,
  security,
  summary: "Rename a group or change its avatar",
  description:
    "The group's owner or an admin; `avatar: null` removes it. Direct rooms are 400 (they show the other " +
    "member's name). Sends `room-updated`.",
  request: { params: RoomIdParam, ...jsonBody(UpdateRoomBody) },
  responses: { ...ok(RoomResponse, "The room"), ...errors(400, 401, 403, 404, 415, 429, 503) },
});

const archiveRoute = createRoute({
  operationId: "archiveRoom",
  method: "post",
  path: "/rooms/{id}/archive",
  tags,
  security,
  summary: "Archive or unarchive a room for the caller",
  description:
    "Per user: archived rooms leave `GET /api/chat/rooms` and appear with `archived=true`; unread counts and " +
    "search still include them. A new message in the room un-archives it for everyone. Active members only.",
  request: { params: RoomIdParam, ...jsonBody(ArchiveBody) },
  responses: {
    ...ok(ArchiveResponse, "The room's archive state"),
    ...errors(400, 401, 403, 404, 415, 429, 503),
  },
});

const searchRoute = createRoute({
  operationId: "searchMessages",
  method: "get",
  path: "/search",
  tags,
  security,
  summary: "Search messages",
  description:
    "Messages of the caller's active rooms (archived ones too; at most the 1000 most recently active), or of " +
    "`roomId` (active members only, else 403), whose words start with every word of `q`: whole words and " +
    "word prefixes, ignoring case and accents (`creme` finds `Crème brûlée`). Newest first; follow " +
    "`nextCursor` for older results (a page may hold fewer than `limit` when many candidates had to be " +
    "checked). Deleted messages never match; an edited message matches its current text. Consistency: a " +
    "message is searchable as soon as its send, edit or delete has returned (when the rooms' indexes are " +
    `more than ${INLINE_INDEX_BUDGET} messages behind, as after a bulk import, the rest within moments, ` +
    "from the background indexer). At most " +
    `${SEARCH_LIMIT_PER_MIN} searches per user per rolling minute: beyond, 429 with \`Retry-After\`.`,
  request: { query: SearchQuery },
  responses: {
    ...ok(SearchResponse, "A page of matching messages"),
    ...errors(400, 401, 403, 404, 429, 503),
  },
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
    })
    .openapi(editMessageRoute, async (c) => {
      const request = { messageId: c.req.valid("param").id, content: c.req.valid("json").content };
      const message = await editMessage(deps, c.var.user, request);
      return c.json({ success: true as const, message }, 200);
    })
    .openapi(versionsRoute, async (c) => {
      const history = await messageHistory(deps, c.var.user, c.req.valid("param").id);
      return c.json({ success: true as const, ...history }, 200);
    })
    .openapi(deleteMessageRoute, async (c) => {
      const result = await deleteMessage(deps, c.var.user, c.req.valid("param").id);
      return c.json({ success: true as const, ...result }, 200);
    })
    .openapi(reactRoute, async (c) => {
      const request = { messageId: c.req.valid("param").id, emoji: c.req.valid("json").emoji };
      const result = await toggleReaction(deps, c.var.user, request);
      return c.json({ success: true as const, ...result }, 200);
    })
    .openapi(addMembersRoute, async (c) => {
      const roomId = c.req.valid("param").id;
      const added = await addMembers(deps, c.var.user, { roomId, userIds: c.req.valid("json").userIds });
      return c.json({ success: true as const, roomId, added }, 200);
    })
    .openapi(removeMemberRoute, async (c) => {
      const { id: roomId, userId } = c.req.valid("param");
      const result = await removeMember(deps, c.var.user, { roomId, userId });
      return c.json({ success: true as const, roomId, userId, ...result }, 200);
    })
    .openapi(roleRoute, async (c) => {
      const { id: roomId, userId } = c.req.valid("param");
      const roles = await setMemberRole(deps, c.var.user, { roomId, userId, role: c.req.valid("json").role });
      return c.json({ success: true as const, roomId, roles }, 200);
    })
    .openapi(updateRoomRoute, async (c) => {
      const room = await updateRoom(deps, c.var.user, {
        roomId: c.req.valid("param").id,
        ...c.req.valid("json"),
      });
      return c.json({ success: true as const, room }, 200);
    })
    .openapi(archiveRoute, async (c) => {
      const roomId = c.req.valid("param").id;
      const archived = await archiveRoom(deps, c.var.user, {
        roomId,
        archived: c.req.valid("json").archived,
      });
      return c.json({ success: true as const, roomId, archived }, 200);
    })
    .openapi(searchRoute, async (c) => {
      const result = await searchMessages(deps, c.var.user, c.req.valid("query"));
      return c.json({ success: true as const, ...result }, 200);
    });
}
