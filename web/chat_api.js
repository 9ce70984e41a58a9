/**
 * @module Every API call the web client makes, one function each, over a `request` from
 * web/api.js. This is the seam a client SDK replaces: nothing else in web/ spells an API path.
 */
import { query } from "./api.js";

const enc = encodeURIComponent;

/**
 * The API's calls, bound to one `request` function.
 * @param {(method: string, path: string, body?: unknown) => Promise<any>} request
 */
export function chatApi(request) {
  return {
    health: () => request("GET", "/healthz"),
    devLogin: (body) => request("POST", "/api/dev/login", body),
    realtimeConfig: () => request("GET", "/api/realtime/config"),

    /** `GET /api/chat/rooms`: the active rooms, or the archived ones. */
    rooms: ({ archived = false, limit = 100 } = {}) =>
      request("GET", `/api/chat/rooms${query({ limit, archived: archived ? "true" : undefined })}`),
    /** `GET /api/chat/messages`: newest first, `beforeId` older, or `afterSeq` newer oldest first. */
    messages: ({ roomId, limit, beforeId, afterSeq }) =>
      request("GET", `/api/chat/messages${query({ roomId, afterSeq, beforeId, limit })}`),
    send: (body) => request("POST", "/api/chat/send", body),
    /** `POST /api/chat/uploads`: step 1 of an attachment; answers where to PUT the bytes. */
    createUpload: (body) => request("POST", "/api/chat/uploads", body),
    markRead: (roomId, messageIds) => request("POST", "/api/chat/read", { roomId, messageIds }),
    typing: (roomId, isTyping) => request("POST", "/api/chat/typing", { roomId, isTyping }),
    edit: (messageId, content) => request("PATCH", `/api/chat/messages/${enc(messageId)}`, { content }),
    remove: (messageId) => request("DELETE", `/api/chat/messages/${enc(messageId)}`),
    react: (messageId, emoji) => request("POST", `/api/chat/messages/${enc(messageId)}/reactions`, { emoji }),
    archive: (roomId, archived) => request("POST", `/api/chat/rooms/${enc(roomId)}/archive`, { archived }),
    search: (q, limit) => request("GET", `/api/chat/search${query({ q, limit })}`),
    start: (receiverId) => request("POST", "/api/chat/start", { receiverId }),
    createGroup: (name, memberIds) => request("POST", "/api/chat/groups", { name, memberIds }),
    addMembers: (roomId, userIds) => request("POST", `/api/chat/rooms/${enc(roomId)}/members`, { userIds }),
    removeMember: (roomId, userId) =>
      request("DELETE", `/api/chat/rooms/${enc(roomId)}/members/${enc(userId)}`),

    user: (userId) => request("GET", `/api/users/${enc(userId)}`),
    follow: (userId, follow) => request(follow ? "POST" : "DELETE", `/api/users/${enc(userId)}/follow`),
    notifications: () => request("GET", "/api/notifications?limit=50"),
    readNotifications: () => request("POST", "/api/notifications/read", {}),
  };
}
