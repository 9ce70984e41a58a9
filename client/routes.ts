/**
 * @module The REST operations the SDK wraps, typed from the OpenAPI document (`api_types.ts`,
 * generated): each operation's method and path are checked against `paths` at compile time,
 * and its path parameters, query, JSON body and success body come from `operations`.
 */
import type { components, operations, paths } from "./api_types.ts";

type Method = "get" | "post" | "put" | "patch" | "delete";

/** The `[method, path]` pairs of `paths` that hold the operation `Id`. */
type RouteOf<Id extends keyof operations> = {
  [P in keyof paths]: {
    [M in Method]: paths[P][M] extends operations[Id] ? readonly [M, P] : never;
  }[Method];
}[keyof paths];

/** Where each operation the SDK wraps lives. */
export const ROUTES = {
  sendMessage: ["post", "/api/chat/send"],
  createUpload: ["post", "/api/chat/uploads"],
  listRooms: ["get", "/api/chat/rooms"],
  listMessages: ["get", "/api/chat/messages"],
  startDirectRoom: ["post", "/api/chat/start"],
  markRoomRead: ["post", "/api/chat/read"],
  setTyping: ["post", "/api/chat/typing"],
  createGroup: ["post", "/api/chat/groups"],
  editMessage: ["patch", "/api/chat/messages/{id}"],
  deleteMessage: ["delete", "/api/chat/messages/{id}"],
  listMessageVersions: ["get", "/api/chat/messages/{id}/versions"],
  toggleReaction: ["post", "/api/chat/messages/{id}/reactions"],
  addMembers: ["post", "/api/chat/rooms/{id}/members"],
  removeMember: ["delete", "/api/chat/rooms/{id}/members/{userId}"],
  setMemberRole: ["patch", "/api/chat/rooms/{id}/members/{userId}"],
  updateRoom: ["patch", "/api/chat/rooms/{id}"],
  archiveRoom: ["post", "/api/chat/rooms/{id}/archive"],
  searchMessages: ["get", "/api/chat/search"],
  getUser: ["get", "/api/users/{id}"],
  followUser: ["post", "/api/users/{id}/follow"],
  unfollowUser: ["delete", "/api/users/{id}/follow"],
  blockUser: ["post", "/api/users/{id}/block"],
  unblockUser: ["delete", "/api/users/{id}/block"],
  listFollowers: ["get", "/api/users/{id}/followers"],
  listFollowing: ["get", "/api/users/{id}/following"],
  listNotifications: ["get", "/api/notifications"],
  getNotificationUnreadCount: ["get", "/api/notifications/unread-count"],
  markNotificationsRead: ["post", "/api/notifications/read"],
  getMe: ["get", "/api/me"],
  getPreferences: ["get", "/api/me/preferences"],
  updatePreferences: ["put", "/api/me/preferences"],
  listBlockedUsers: ["get", "/api/me/blocked"],
  getRealtimeConfig: ["get", "/api/realtime/config"],
  authorizeChannel: ["post", "/api/pusher/auth"],
  authenticateUser: ["post", "/api/pusher/user-auth"],
} as const satisfies { [Id in keyof operations]?: RouteOf<Id> };

/** The operations the SDK calls, by operationId. */
export type OperationId = keyof typeof ROUTES;

type Parameters<Id extends OperationId> = operations[Id]["parameters"];

/** An operation's path parameters. */
export type PathParams<Id extends OperationId> = NonNullable<Parameters<Id>["path"]>;

/** An operation's query parameters. */
export type QueryParams<Id extends OperationId> = NonNullable<Parameters<Id>["query"]>;

/** An operation's JSON request body. */
export type RequestBody<Id extends OperationId> = operations[Id] extends
  { requestBody?: { content: { "application/json": infer B } } } ? B : never;

/** An operation's success body (its 200, 201 or 202). */
export type Result<Id extends OperationId> = operations[Id]["responses"] extends
  { 200: { content: { "application/json": infer R } } } ? R
  : operations[Id]["responses"] extends { 201: { content: { "application/json": infer R } } } ? R
  : operations[Id]["responses"] extends { 202: { content: { "application/json": infer R } } } ? R
  : never;

/** What one call sends. */
export interface CallInput<Id extends OperationId> {
  path?: PathParams<Id>;
  query?: QueryParams<Id>;
  body?: RequestBody<Id>;
}

type Schemas = components["schemas"];
/** A message, as `GET /api/chat/messages` and the `new-message` event carry it. */
export type Message = Schemas["Message"];
/** A room of the caller's room list. */
export type Room = Schemas["Room"];
/** A room member with role and presence. */
export type Participant = Schemas["Participant"];
/** A social notification (follow, added to a group, …). */
export type Notification = Schemas["Notification"];
/** The pusher-js options of `GET /api/realtime/config`. */
export type RealtimeConfig = Schemas["RealtimeConfig"];
